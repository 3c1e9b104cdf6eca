package org.serverstarter.spring.boot;

import org.serverstarter.adapters.internal.WarmUpClient;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Reports a failed {@code server-starter.warm-up} (a request refused, timed out or not answered with 2xx) in Boot's
 * failure report, without a stack trace: the generation stops before it is announced, and {@code start_server},
 * which keeps the old one serving, starts another and repeats whatever this one printed.
 */
final class WarmUpFailureAnalyzer extends AbstractFailureAnalyzer<WarmUpClient.Failure> {
    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, WarmUpClient.Failure cause) {
        return new FailureAnalysis("server-starter: " + cause.getMessage()
                + "; the app stops without announcing readiness",
                "Make server-starter.warm-up.path answer 2xx to GET, or set server-starter.warm-up.requests=0.",
                cause);
    }
}

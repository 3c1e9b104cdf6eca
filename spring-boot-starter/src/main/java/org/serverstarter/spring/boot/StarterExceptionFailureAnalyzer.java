package org.serverstarter.spring.boot;

import org.serverstarter.adapters.StarterException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Reports a broken superdaemon contract (a malformed {@code SERVER_STARTER_PORT}, an fd that is not a socket, a
 * missing JVM flag) as Boot reports a taken port: what is wrong and what to do, without a stack trace, since
 * {@code start_server} retries a failing app every {@code --interval} and repeats whatever it prints.
 */
final class StarterExceptionFailureAnalyzer extends AbstractFailureAnalyzer<StarterException> {
    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, StarterException cause) {
        return new FailureAnalysis(cause.getMessage(),
                "Check the start_server command line and the JVM flags (see the server-starter README).", cause);
    }
}

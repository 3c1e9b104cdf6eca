package org.serverstarter.superdaemon.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * start_server's options as given on the command line, before any default is applied (a {@code null} means "not
 * given", which matters: the environment fills in some of them, see {@code Environment}).
 *
 * <p>Perl's options, and those that go beyond Perl and are off unless given: {@code --path-mode},
 * {@code --readiness=notify} with {@code --ready-timeout}, {@code --kill-timeout}, {@code --max-backoff},
 * {@code --new-worker-nice}, {@code --metrics}, and the client modes' {@code --timeout}, {@code --status} and
 * {@code --format}, and {@code --upgrade}.
 */
public record Options(
        List<String> ports,
        List<String> paths,
        String pathMode,
        String dir,
        Long interval,
        String logFile,
        String pidFile,
        String statusFile,
        String signalOnHup,
        String signalOnTerm,
        String envdir,
        boolean enableAutoRestart,
        Long autoRestartInterval,
        Long killOldDelay,
        Long backlog,
        boolean daemonize,
        boolean restart,
        boolean stop,
        boolean help,
        boolean version,
        String readiness,
        Long readyTimeout,
        Long killTimeout,
        Long maxBackoff,
        Long newWorkerNice,
        Long timeout,
        boolean status,
        String format,
        String metrics,
        boolean upgrade,
        List<String> program) {

    public Options {
        ports = List.copyOf(ports);
        paths = List.copyOf(paths);
        program = List.copyOf(program);
    }

    /** The options that are a number of seconds, by name, as given (null when absent). */
    public Map<String, Long> durations() {
        Map<String, Long> durations = new LinkedHashMap<>();
        durations.put("interval", interval);
        durations.put("auto-restart-interval", autoRestartInterval);
        durations.put("kill-old-delay", killOldDelay);
        durations.put("ready-timeout", readyTimeout);
        durations.put("kill-timeout", killTimeout);
        durations.put("max-backoff", maxBackoff);
        durations.put("timeout", timeout);
        return durations;
    }
}

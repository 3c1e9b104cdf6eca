package org.serverstarter.superdaemon.cli;

import java.util.List;

/**
 * start_server's options as given on the command line, before any default is applied (a {@code null} means "not
 * given", which matters: the environment fills in some of them, see {@code Environment}).
 *
 * <p>The first block are Perl's options. The last six go beyond Perl and are off unless given:
 * {@code --readiness=notify} with {@code --ready-timeout}, {@code --kill-timeout}, {@code --max-backoff},
 * {@code --new-worker-nice}, and {@code --timeout} for the client modes.
 */
public record Options(
        List<String> ports,
        List<String> paths,
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
        List<String> program) {

    public Options {
        ports = List.copyOf(ports);
        paths = List.copyOf(paths);
        program = List.copyOf(program);
    }
}

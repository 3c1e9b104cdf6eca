package org.serverstarter.superdaemon.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.SpawnRequest;
import org.serverstarter.superdaemon.posix.SpawnRequest.Placement;

/**
 * {@code --daemonize} for a JVM, which cannot {@code fork}: the foreground process takes the pid file's lock, binds
 * the sockets and opens a log file (so that errors still reach the terminal with their exit status, as in Perl),
 * then starts the same command line again in a new session, handing over the sockets at the same fd numbers, the
 * locked pid file, the log file as stdout and stderr and {@code /dev/null} as stdin, and exits 0. A {@code | command}
 * log is started by the daemon itself, in its own session, so that closing the terminal cannot take it down. The
 * daemon finds what it inherited through {@link #FDS_VARIABLE}, which it removes from the environment its workers
 * get.
 *
 * <p>Unlike Perl's fork-setsid-fork, the daemon is the leader of its session; it never opens a terminal, so it
 * cannot acquire one.
 */
final class Daemon {
    static final String FDS_VARIABLE = "SERVER_STARTER_JVM_DAEMON_FDS";
    private static final String PID_FILE = ";pid-file=";
    private static final int MAX_FD = 1 << 20;

    /** What the daemon inherited: the sockets' fds in command-line order, and the pid file's fd or -1. */
    record Handoff(List<Integer> sockets, int pidFile) {
    }

    private Daemon() {
    }

    /** Starts the daemon; returns its pid. {@code logFd} and {@code pidFileFd} may be -1. */
    static long launch(List<Integer> socketFds, int logFd, int pidFileFd) {
        ProcessHandle.Info self = ProcessHandle.current().info();
        String java = self.command().orElseThrow(() -> Fatal.of("fork failed:cannot find this JVM's command"));
        List<String> argv = new ArrayList<>();
        argv.add(java);
        argv.addAll(List.of(self.arguments().orElseThrow(
                () -> Fatal.of("fork failed:cannot read this JVM's arguments"))));
        StringJoiner fds = new StringJoiner(",");
        List<String> environment = new ArrayList<>();
        for (Map.Entry<String, String> e : System.getenv().entrySet()) {
            environment.add(e.getKey() + "=" + e.getValue());
        }
        List<Placement> placements = new ArrayList<>();
        int devNull;
        try {
            devNull = Posix.openReadWrite("/dev/null", false);
        } catch (ErrnoException e) {
            throw Fatal.of("reopen failed: ", e);
        }
        placements.add(new Placement(devNull, 0));
        placements.add(new Placement(logFd >= 0 ? logFd : devNull, 1));
        placements.add(new Placement(logFd >= 0 ? logFd : devNull, 2));
        for (int fd : socketFds) {
            placements.add(new Placement(fd, fd));
            fds.add(Integer.toString(fd));
        }
        String handoff = fds.toString();
        if (pidFileFd >= 0) {
            placements.add(new Placement(pidFileFd, pidFileFd));
            handoff += PID_FILE + pidFileFd;
        }
        environment.add(FDS_VARIABLE + "=" + handoff);
        try {
            return Posix.spawn(new SpawnRequest(java, argv, environment, null, placements,
                    SpawnRequest.Grouping.OWN_SESSION));
        } catch (ErrnoException e) {
            throw Fatal.of("fork failed:", e);
        } finally {
            Posix.close(devNull);
        }
    }

    /** Parses {@link #FDS_VARIABLE}: {@code FD,FD,...[;pid-file=FD]}; anything else is one clear error. */
    static Handoff parse(String value) {
        String sockets = value;
        int pidFile = -1;
        int at = value.indexOf(PID_FILE);
        if (at >= 0) {
            sockets = value.substring(0, at);
            pidFile = fd(value.substring(at + PID_FILE.length()), value);
        }
        List<Integer> fds = new ArrayList<>();
        for (String fd : sockets.split(",", -1)) {
            if (!sockets.isEmpty()) {
                fds.add(fd(fd, value));
            }
        }
        return new Handoff(fds, pidFile);
    }

    private static int fd(String text, String value) {
        if (!text.matches("\\d{1,7}") || Integer.parseInt(text) > MAX_FD) {
            throw Fatal.of("invalid " + FDS_VARIABLE + " value:" + value);
        }
        return Integer.parseInt(text);
    }
}

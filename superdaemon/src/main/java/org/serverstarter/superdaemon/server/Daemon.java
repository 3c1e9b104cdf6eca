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
 * {@code --daemonize} for a JVM, which cannot {@code fork}: the foreground process binds the sockets and opens the
 * log (so that errors still reach the terminal with their exit status, as in Perl), then starts the same command
 * line again in a new session, handing over the sockets at the same fd numbers, the log as stdout and stderr and
 * {@code /dev/null} as stdin, and exits 0. The daemon finds the sockets through {@link #FDS_VARIABLE}, which it
 * removes from the environment its workers get.
 *
 * <p>Unlike Perl's fork-setsid-fork, the daemon is the leader of its session; it never opens a terminal, so it
 * cannot acquire one.
 */
final class Daemon {
    static final String FDS_VARIABLE = "SERVER_STARTER_JVM_DAEMON_FDS";

    private Daemon() {
    }

    static void launch(List<Integer> socketFds, int logFd) {
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
        placements.add(new Placement(logFd, 1));
        placements.add(new Placement(logFd, 2));
        for (int fd : socketFds) {
            placements.add(new Placement(fd, fd));
            fds.add(Integer.toString(fd));
        }
        environment.add(FDS_VARIABLE + "=" + fds);
        try {
            Posix.spawn(new SpawnRequest(java, argv, environment, null, placements, true));
        } catch (ErrnoException e) {
            throw Fatal.of("fork failed:", e);
        } finally {
            Posix.close(devNull);
        }
    }

    /** The socket fds a daemon inherited, in command-line order. */
    static List<Integer> inheritedFds(String value) {
        List<Integer> fds = new ArrayList<>();
        for (String fd : value.split(",")) {
            if (!fd.isEmpty()) {
                fds.add(Integer.parseInt(fd));
            }
        }
        return fds;
    }
}

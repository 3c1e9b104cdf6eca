package org.serverstarter.superdaemon.client;

import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.Signals;
import org.serverstarter.superdaemon.server.Fatal;

/**
 * {@code start_server --stop}: sends TERM to the superdaemon named in the pid file, then waits for the pid file's
 * lock, which the superdaemon gives up only after its last worker has exited; with {@code --timeout=SECONDS} for
 * that long at most (exit 110, ETIMEDOUT).
 *
 * <p>Unlike Perl, nothing is signalled unless a running start_server is behind the pid file
 * ({@link ClientFiles#runningPid}): the pid in a stale file may by now belong to an unrelated process.
 */
public final class StopClient {
    private StopClient() {
    }

    public static int run(Options options) {
        if (options.pidFile() == null) {
            throw Fatal.of("--stop option requires --pid-file to be set as well");
        }
        String path = options.pidFile();
        int fd = ClientFiles.open(path);
        try {
            System.err.println("stop_server (pid:" + ProcessHandle.current().pid() + ") stopping now (pid:"
                    + ClientFiles.readPid(fd, path) + ")...");
            long pid = ClientFiles.runningPid(path, fd, "TERM");
            try {
                Posix.kill(pid, Signals.TERM);
            } catch (ErrnoException e) {
                throw Fatal.of("failed to send SIGTERM to the server process:", e);
            }
            long deadline = ClientFiles.deadline(options.timeout());
            while (!Posix.tryLockExclusive(fd) && !ClientFiles.finished(path, fd, pid)) {
                if (System.nanoTime() - deadline > 0) {
                    throw ClientFiles.timedOut(options.timeout(), "start_server (pid " + pid + ") to exit");
                }
                ClientFiles.pause();
            }
            return 0;
        } catch (ErrnoException e) {
            throw Fatal.of("flock failed(" + path + "): ", e);
        } finally {
            Posix.close(fd);
        }
    }
}

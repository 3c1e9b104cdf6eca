package org.serverstarter.superdaemon.client;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.cli.Seconds;
import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.server.Fatal;
import org.serverstarter.superdaemon.server.StatusSocket;

/**
 * {@code start_server --status}: asks the start_server that holds the pid file what it is doing and prints its JSON
 * document (docs/status.md), or with {@code --format=text} the same for a human.
 *
 * <p>The pid file is checked as for {@code --stop} (a live process holds its lock and has it open); then the status
 * socket named after that pid and the file is connected to, and its owner must be that very process (SO_PEERCRED),
 * so that a process squatting on the name can neither answer in start_server's place nor learn anything.
 * Exit statuses: 0; 3 no start_server holds the pid file; 13 refused (another user's start_server); 110 timed out;
 * 111 nothing answers on the status socket (Perl's start_server, or the name was taken); 255 anything else.
 */
public final class StatusClient {
    private static final int ESRCH = 3;
    private static final int ENOENT = 2;
    private static final int EACCES = 13;
    private static final int EAGAIN = 11;
    private static final int ETIMEDOUT = 110;
    private static final int ECONNREFUSED = 111;
    private static final long DEFAULT_TIMEOUT_SECONDS = 10;
    private static final int MAX_BYTES = 1 << 20;

    private StatusClient() {
    }

    public static int run(Options options) {
        if (options.pidFile() == null) {
            throw Fatal.of("--status option requires --pid-file to be set as well");
        }
        String path = options.pidFile();
        int fd;
        try {
            fd = ClientFiles.open(path);
        } catch (Fatal e) {
            if (e.exitStatus() == ENOENT) {
                throw new Fatal("no start_server runs from " + path + " (no such file)", ESRCH);
            }
            throw e;
        }
        long pid;
        long inode;
        try {
            pid = ClientFiles.holder(path, fd, "no start_server runs from " + path + " (");
            inode = Posix.status(fd).inode();
        } catch (ErrnoException e) {
            throw Fatal.of("failed to read " + path + ":", e);
        } finally {
            Posix.close(fd);
        }
        long timeout = options.timeout() == null ? DEFAULT_TIMEOUT_SECONDS : options.timeout();
        String json = ask(pid, StatusSocket.name(pid, inode), timeout);
        System.out.print("text".equals(options.format()) ? StatusText.render(json) : json);
        System.out.flush();
        return 0;
    }

    private static String ask(long pid, String name, long timeoutSeconds) {
        String who = "start_server (pid " + pid + ")";
        int socket;
        try {
            socket = Posix.socket(Posix.AF_UNIX, Posix.SOCK_STREAM);
        } catch (ErrnoException e) {
            throw Fatal.of("cannot create a socket:", e);
        }
        try {
            // Bounds the connect (a full backlog) and every read (a server that never writes).
            Posix.setTimeouts(socket, Seconds.toMillis(Math.max(1, timeoutSeconds)));
            try {
                Posix.connect(socket, name);
            } catch (ErrnoException e) {
                if (e.errno() == ECONNREFUSED) {
                    throw new Fatal(who + " does not answer --status (Perl's start_server, or an older one, does not;"
                            + " or another process took its status socket)", ECONNREFUSED);
                }
                if (e.errno() == EAGAIN) {
                    throw new Fatal("timed out after " + timeoutSeconds + " secs waiting for the status of " + who,
                            ETIMEDOUT);
                }
                throw Fatal.of("cannot connect to the status socket of " + who + ":", e);
            }
            long owner = Posix.peerCredentials(socket).pid();
            if (owner != pid) {
                throw Fatal.of("the status socket of " + who + " belongs to "
                        + (owner > 0 ? "process " + owner : "a process outside this pid namespace")
                        + "; not asking it");
            }
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            while (answer.size() < MAX_BYTES) {
                long n = Posix.read(socket, buffer);
                if (n == 0) {
                    break;
                }
                if (n < 0) {
                    throw new Fatal("timed out after " + timeoutSeconds + " secs waiting for the status of " + who,
                            ETIMEDOUT);
                }
                answer.write(buffer, 0, (int) n);
            }
            if (answer.size() == 0) {
                throw new Fatal(who + " refused the status request (it answers its own user and root only)", EACCES);
            }
            return answer.toString(StandardCharsets.UTF_8);
        } catch (ErrnoException e) {
            throw Fatal.of("cannot ask " + who + " for its status:", e);
        } finally {
            Posix.close(socket);
        }
    }
}

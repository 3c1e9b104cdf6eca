package org.serverstarter.superdaemon.client;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.serverstarter.superdaemon.cli.Seconds;
import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.server.Fatal;
import org.serverstarter.superdaemon.server.UpgradeSocket;

/**
 * {@code start_server --upgrade}: asks the start_server that holds the pid file to replace itself with a fresh start
 * of its launcher (a rebuilt jar, a new JDK) in the same process, with the same sockets and workers, and waits for
 * the outcome: the new image answers once it runs, or the old one says why the new one could not start.
 *
 * <p>The instance is found and checked as by {@code --status} (a live process holds the pid file's lock and has the
 * file open), and the upgrade socket must belong to that process (SO_PEERCRED). Exit statuses: 0 upgraded; 3 no
 * start_server holds the pid file; 110 timed out ({@code --timeout}); 111 nothing answers on the upgrade socket
 * (Perl's start_server, or an older one); 255 refused (the new image cannot start; the running one goes on
 * untouched) and anything else.
 */
public final class UpgradeClient {
    private static final int ESRCH = 3;
    private static final int ENOENT = 2;
    private static final int EAGAIN = 11;
    private static final int ETIMEDOUT = 110;
    private static final int ECONNREFUSED = 111;
    private static final int MAX_BYTES = 4096;

    private UpgradeClient() {
    }

    public static int run(Options options) {
        if (options.pidFile() == null) {
            throw Fatal.of("--upgrade option requires --pid-file to be set as well");
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
        String answer = ask(pid, UpgradeSocket.name(pid, inode), options.timeout());
        if (answer.startsWith("ok ")) {
            System.out.println("start_server (pid:" + pid + ") upgraded: " + answer.substring(3));
            return 0;
        }
        throw Fatal.of("start_server (pid:" + pid + ") did not upgrade: "
                + (answer.startsWith("refused ") ? answer.substring(8) : answer) + "; the running one goes on");
    }

    /** Connects (the request itself) and reads the one line of the outcome. */
    private static String ask(long pid, String name, Long timeoutSeconds) {
        String who = "start_server (pid " + pid + ")";
        int socket;
        try {
            socket = Posix.socket(Posix.AF_UNIX, Posix.SOCK_STREAM);
        } catch (ErrnoException e) {
            throw Fatal.of("cannot create a socket:", e);
        }
        try {
            if (timeoutSeconds != null) {
                // Bounds the connect (a full backlog) and the wait for the outcome.
                Posix.setTimeouts(socket, Seconds.toMillis(Math.max(1, timeoutSeconds)));
            }
            try {
                Posix.connect(socket, name);
            } catch (ErrnoException e) {
                if (e.errno() == ECONNREFUSED) {
                    throw new Fatal(who + " does not answer --upgrade (Perl's start_server, or an older one, does not;"
                            + " or another process took its upgrade socket)", ECONNREFUSED);
                }
                if (e.errno() == EAGAIN) {
                    throw timedOut(timeoutSeconds, who);
                }
                throw Fatal.of("cannot connect to the upgrade socket of " + who + ":", e);
            }
            long owner = Posix.peerCredentials(socket).pid();
            if (owner != pid) {
                throw Fatal.of("the upgrade socket of " + who + " belongs to "
                        + (owner > 0 ? "process " + owner : "a process outside this pid namespace")
                        + "; not asking it");
            }
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buffer = new byte[512];
            while (answer.size() < MAX_BYTES && answer.toString(StandardCharsets.UTF_8).indexOf('\n') < 0) {
                long n = Posix.read(socket, buffer);
                if (n == 0) {
                    break;
                }
                if (n < 0) {
                    throw timedOut(timeoutSeconds, who);
                }
                answer.write(buffer, 0, (int) n);
            }
            String text = answer.toString(StandardCharsets.UTF_8);
            if (text.isEmpty()) {
                throw Fatal.of(who + " closed the connection without an answer (another user's start_server answers"
                        + " only its own user and root; otherwise see its log)");
            }
            int newline = text.indexOf('\n');
            return newline < 0 ? text : text.substring(0, newline);
        } catch (ErrnoException e) {
            throw Fatal.of("cannot ask " + who + " to upgrade:", e);
        } finally {
            Posix.close(socket);
        }
    }

    private static Fatal timedOut(Long timeoutSeconds, String who) {
        return new Fatal("timed out after " + timeoutSeconds + " secs waiting for " + who + " to upgrade", ETIMEDOUT);
    }
}

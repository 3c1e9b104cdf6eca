package org.serverstarter.superdaemon.client;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.cli.Seconds;
import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.server.Fatal;

/**
 * What {@code --status} and {@code --upgrade} share: finding the start_server that holds the pid file (checked as
 * for {@code --stop}: a live process holds its lock and has it open), and asking it over one of its private sockets,
 * named after that pid and file, whose owner must be that very process (SO_PEERCRED), so that a process squatting on
 * the name can neither answer in start_server's place nor learn anything.
 */
final class InstanceSocket {
    private static final int ESRCH = 3;
    private static final int ENOENT = 2;
    private static final int EAGAIN = 11;
    private static final int ETIMEDOUT = 110;
    private static final int ECONNREFUSED = 111;

    /** The running start_server: its pid, and the pid file's inode, which its socket names carry. */
    record Instance(long pid, long inode) {
        String who() {
            return "start_server (pid " + pid + ")";
        }
    }

    /**
     * One kind of request: the client option that makes it ({@code --status}), the socket's name in messages, what
     * the client asks for ({@code for its status}), how long an answer may be, and whether it ends at a newline.
     */
    record Question(String option, String socketName, String purpose, int maxBytes, boolean oneLine) {
    }

    private InstanceSocket() {
    }

    /** The start_server that holds {@code --pid-file}; exit 3 when none does. {@code option}: the client mode. */
    static Instance find(Options options, String option) {
        if (options.pidFile() == null) {
            throw Fatal.of(option + " option requires --pid-file to be set as well");
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
        try {
            long pid = ClientFiles.holder(path, fd, "no start_server runs from " + path + " (");
            return new Instance(pid, Posix.status(fd).inode());
        } catch (ErrnoException e) {
            throw Fatal.of("failed to read " + path + ":", e);
        } finally {
            Posix.close(fd);
        }
    }

    /**
     * Connects to the socket {@code name} of {@code instance} and reads its answer, all of it or its first line;
     * empty when it closed without a word. {@code waitingFor} ends the line of a timeout ("the status of ...").
     * Without {@code timeoutSeconds} it waits as long as the answer takes.
     */
    static String ask(Instance instance, String name, Question question, Long timeoutSeconds, String waitingFor) {
        String who = instance.who();
        int socket;
        try {
            socket = Posix.socket(Posix.AF_UNIX, Posix.SOCK_STREAM);
        } catch (ErrnoException e) {
            throw Fatal.of("cannot create a socket:", e);
        }
        try {
            if (timeoutSeconds != null) {
                // Bounds the connect (a full backlog) and every read (a server that never writes).
                Posix.setTimeouts(socket, Seconds.toMillis(Math.max(1, timeoutSeconds)));
            }
            Fatal timedOut = new Fatal("timed out after " + timeoutSeconds + " secs waiting for " + waitingFor,
                    ETIMEDOUT);
            try {
                Posix.connect(socket, name);
            } catch (ErrnoException e) {
                if (e.errno() == ECONNREFUSED) {
                    throw new Fatal(who + " does not answer " + question.option() + " (Perl's start_server, or an "
                            + "older one, does not; or another process took its " + question.socketName() + ")",
                            ECONNREFUSED);
                }
                if (e.errno() == EAGAIN) {
                    throw timedOut;
                }
                throw Fatal.of("cannot connect to the " + question.socketName() + " of " + who + ":", e);
            }
            long owner = Posix.peerCredentials(socket).pid();
            if (owner != instance.pid()) {
                throw Fatal.of("the " + question.socketName() + " of " + who + " belongs to "
                        + (owner > 0 ? "process " + owner : "a process outside this pid namespace") + "; not asking it");
            }
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            while (answer.size() < question.maxBytes()
                    && !(question.oneLine() && answer.toString(StandardCharsets.UTF_8).indexOf('\n') >= 0)) {
                long n = Posix.read(socket, buffer);
                if (n == 0) {
                    break;
                }
                if (n < 0) {
                    throw timedOut;
                }
                answer.write(buffer, 0, (int) n);
            }
            String text = answer.toString(StandardCharsets.UTF_8);
            int newline = text.indexOf('\n');
            return question.oneLine() && newline >= 0 ? text.substring(0, newline) : text;
        } catch (ErrnoException e) {
            throw Fatal.of("cannot ask " + who + " " + question.purpose() + ":", e);
        } finally {
            Posix.close(socket);
        }
    }
}

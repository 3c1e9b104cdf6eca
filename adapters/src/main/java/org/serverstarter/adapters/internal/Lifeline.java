package org.serverstarter.adapters.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Stops this JVM as a TERM would once the superdaemon that started it is gone, however it went (a {@code kill -9}
 * included), so that no worker serves on as an orphan. The superdaemon names in {@code SERVER_STARTER_LIFELINE} the
 * read end of a pipe whose only write end it holds and never writes to: the kernel closes that write end when the
 * superdaemon dies, and the read end then reports a hang-up.
 *
 * <p>The wait is a {@code poll(2)} on a private duplicate of the inherited fd, through {@link Libc}: {@code poll}
 * waits whatever the pipe's {@code O_NONBLOCK} flag, which every process holding the pipe shares and any of them may
 * set, and the duplicate keeps watching the same pipe even when the app closes the inherited fd and the number is
 * reused. Reopening {@code /proc/self/fd/N} would need no native code, but the kernel refuses it to a worker that runs
 * as another user than the superdaemon ({@code start_server -- setuidgid app java ...}).
 */
public final class Lifeline {
    public static final String VARIABLE = "SERVER_STARTER_LIFELINE";
    /** What the JVM exits with after a TERM: 128 + 15. */
    private static final int EXIT_STATUS = 143;

    private static final String NOT_WATCHING = "not watching for start_server's exit";

    private static final Path FD_DIR = Path.of("/proc/self/fd");
    private static final int S_IFMT = 0170000;
    private static final int S_IFIFO = 0010000;
    // Linux's values, the same on every architecture.
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final short POLLIN = 0x1;
    private static final short POLLHUP = 0x10;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;

    // Decided by the first call, so that several adapters in one JVM start one watcher and report a bad value once.
    private static Boolean watching;
    /** Set once the superdaemon is gone: nothing listens on its {@code NOTIFY_SOCKET} any more. */
    private static volatile boolean superdaemonGone;

    private Lifeline() {}

    /**
     * Starts the watcher for {@code value}, the variable's value, unless a previous call already decided.
     *
     * @return whether a watcher runs
     */
    public static synchronized boolean watch(String value) {
        if (watching == null) {
            watching = start(value);
        }
        return watching;
    }

    private static boolean start(String value) {
        if (value == null || value.isEmpty()) {
            return false;
        }
        if (!value.matches("[0-9]{1,9}")) {
            System.err.println(VARIABLE + "=\"" + value + "\" is not a file descriptor number; " + NOT_WATCHING);
            return false;
        }
        int fd = Integer.parseInt(value);
        String problem = notAPipe(fd);
        if (problem != null) {
            report(fd, problem);
            return false;
        }
        Thread watcher = new Thread(() -> watchUntilGone(fd), "server-starter-lifeline");
        watcher.setDaemon(true);
        watcher.start();
        return true;
    }

    /**
     * Why {@code fd} cannot be the lifeline, or null when it is a pipe. A regular file or a socket would read as "gone"
     * at once, or at a peer's whim, and stop a healthy worker.
     */
    private static String notAPipe(int fd) {
        Path link = FD_DIR.resolve(Integer.toString(fd));
        try {
            int mode = (Integer) Files.getAttribute(link, "unix:mode");
            if ((mode & S_IFMT) == S_IFIFO) {
                return null;
            }
            return "fd " + fd + " is not a pipe but " + Files.readSymbolicLink(link);
        } catch (NoSuchFileException e) {
            return "fd " + fd + " is not open in this process";
        } catch (IOException | RuntimeException e) {
            // Without /proc (not Linux) or the JDK's "unix" attribute view there is no safe way to tell.
            return "cannot tell whether fd " + fd + " is a pipe (" + e + ")";
        }
    }

    private static void watchUntilGone(int fd) {
        try {
            awaitHangUp(fd);
        } catch (IOException e) {
            report(fd, e.getMessage());
            return;
        } catch (RuntimeException | LinkageError e) {
            // A broken native binding is reported like any other problem: a watcher must never crash the app.
            report(fd, e.toString());
            return;
        }
        superdaemonGone = true;
        System.err.println("start_server is gone (lifeline fd " + fd + " closed): draining and exiting");
        // What the JVM itself does on TERM: run the shutdown hooks, where the adapters drain, and exit 143. Exiting
        // rather than raising TERM also stops an app that handles or ignores TERM, which would otherwise serve on.
        System.exit(EXIT_STATUS);
    }

    /** Whether the watcher saw the superdaemon go: the drain's {@code STOPPING=1} then has no one to tell. */
    public static boolean superdaemonGone() {
        return superdaemonGone;
    }

    /** Returns once no process holds the pipe's write end any more. */
    private static void awaitHangUp(int inherited) throws IOException {
        Libc.Functions c = Libc.get();
        int fd = c.fcntl(inherited, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
            throw new IOException("fcntl(" + inherited + ", F_DUPFD_CLOEXEC): " + Libc.lastError());
        }
        byte[] pollFd = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder())
                .putInt(fd).putShort(POLLIN).putShort((short) 0).array();
        byte[] discarded = new byte[64];
        while (true) {
            if (c.poll(pollFd, 1, -1) < 0) {
                if (Libc.lastErrno() == EINTR) {
                    continue;
                }
                throw new IOException("poll: " + Libc.lastError());
            }
            short revents = ByteBuffer.wrap(pollFd).order(ByteOrder.nativeOrder()).getShort(6);
            if ((revents & POLLHUP) != 0) {
                return;
            }
            if ((revents & POLLIN) == 0) {
                throw new IOException("poll reported events 0x" + Integer.toHexString(revents) + " on fd " + fd);
            }
            // The superdaemon never writes; whatever someone else wrote is read so that poll blocks again.
            long n = c.read(fd, discarded, discarded.length);
            if (n == 0) {
                return;
            }
            if (n < 0 && Libc.lastErrno() != EAGAIN && Libc.lastErrno() != EINTR) {
                throw new IOException("read: " + Libc.lastError());
            }
        }
    }

    private static void report(int fd, String problem) {
        System.err.println(VARIABLE + "=" + fd + ": " + problem + "; " + NOT_WATCHING);
    }
}

package org.serverstarter.superdaemon.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.serverstarter.superdaemon.cli.Seconds;
import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;

import org.serverstarter.superdaemon.server.Fatal;

/**
 * What both client modes share: finding the running start_server through its pid file, and waiting with an optional
 * {@code --timeout}.
 */
final class ClientFiles {
    private static final long POLL_MILLIS = 100;
    private static final int ETIMEDOUT = 110;
    private static final int ESRCH = 3;

    private ClientFiles() {
    }

    /**
     * Opens one of start_server's files for reading, or its lock: not through a symbolic link, not a FIFO (which
     * would block), not a file with a second name. In a directory others may write to, such a name may lead to
     * another instance's file, whose server would then be signalled.
     */
    static int open(String path) {
        int fd;
        try {
            fd = Posix.openReadOnlyNoFollow(path);
        } catch (ErrnoException e) {
            throw Fatal.of("failed to open file:" + path + ":", e);
        }
        try {
            Posix.FileStatus file = Posix.status(fd);
            if (!file.isRegularFile() || file.links() != 1) {
                throw Fatal.of("refusing " + path + ": " + (file.isRegularFile()
                        ? "it has " + file.links() + " names (hard links)" : "not a regular file"));
            }
            return fd;
        } catch (ErrnoException e) {
            Posix.close(fd);
            throw Fatal.of("failed to open file:" + path + ":", e);
        } catch (Fatal e) {
            Posix.close(fd);
            throw e;
        }
    }

    /** At most {@code max} bytes from the start of the file open at {@code fd}. */
    static String read(int fd, int max, String path) {
        byte[] buffer = new byte[max];
        int length = 0;
        while (length < max) {
            byte[] chunk = new byte[max - length];
            long n = Posix.readAt(fd, chunk, length);
            if (n < 0) {
                throw Fatal.of("failed to read file:" + path);
            }
            if (n == 0) {
                break;
            }
            System.arraycopy(chunk, 0, buffer, length, (int) n);
            length += (int) n;
        }
        return new String(buffer, 0, length, StandardCharsets.US_ASCII);
    }

    /** The first line of the pid file open at {@code fd}, without its line break. */
    static String readPid(int fd, String path) {
        String content = read(fd, 64, path);
        int newline = content.indexOf('\n');
        return newline < 0 ? content : content.substring(0, newline);
    }

    /** The {@code System.nanoTime()} at which to give up; practically never without a timeout. */
    static long deadline(Long timeoutSeconds) {
        return System.nanoTime() + Seconds.toNanos(timeoutSeconds == null ? Seconds.MAX : timeoutSeconds);
    }

    /**
     * Whether the start_server that ran from the pid file open at {@code fd} has finished: the pid has exited and the
     * file is no longer at its name. Another process may hold or wait for the lock too (anyone who may read the
     * file may lock it), so the lock alone cannot say.
     */
    static boolean finished(String path, int fd, long pid) {
        try {
            Posix.kill(pid, 0);
            return false;
        } catch (ErrnoException e) {
            if (e.errno() != ESRCH) {
                return false;
            }
        }
        try {
            Object named = Files.getAttribute(Path.of(path), "unix:ino", LinkOption.NOFOLLOW_LINKS);
            return !named.equals(Posix.status(fd).inode());
        } catch (NoSuchFileException e) {
            return true;
        } catch (IOException | ErrnoException e) {
            return false;
        }
    }

    static Fatal timedOut(Long timeoutSeconds, String what) {
        return new Fatal("timed out after " + timeoutSeconds + " secs waiting for " + what, ETIMEDOUT);
    }

    static void pause() {
        try {
            TimeUnit.MILLISECONDS.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Fatal.of("interrupted");
        }
    }

    /**
     * The pid of the start_server that runs from {@code path}, checked before anything is signalled: a process must
     * hold the file's lock (ours and Perl's do while they run), the pid must not be 0 (which would signal the
     * caller's own process group), and, where /proc lets us look, that process must have the file open. Pid 1 must
     * be seen to have it open (see {@link #holder}). A stale or rewritten file thus never sends {@code signal} to an
     * unrelated process. {@code lockFd} is the caller's own descriptor of the file.
     */
    static long runningPid(String path, int lockFd, String signal) throws ErrnoException {
        return holder(path, lockFd, "failed to send SIG" + signal + " to the server process:No such process (stale pid"
                + " file " + path + ": ");
    }

    /**
     * The checks of {@link #runningPid}, for any client mode: {@code stale} begins the message (exit 3, ESRCH) when no
     * live start_server is behind the file; the reason and a closing parenthesis follow.
     */
    static long holder(String path, int lockFd, String stale) throws ErrnoException {
        String text = readPid(lockFd, path);
        if (Posix.tryLockExclusive(lockFd)) {
            throw new Fatal(stale + "no start_server holds its lock)", ESRCH);
        }
        if (!text.matches("\\d{1,9}")) {
            throw Fatal.of("invalid pid in " + path + ":" + text);
        }
        long pid = Long.parseLong(text);
        if (pid == 0) {
            throw Fatal.of("invalid pid in " + path + ":" + text + " (start_server is never pid 0)");
        }
        Boolean open = holdsOpen(pid, Posix.status(lockFd));
        if (open == Boolean.FALSE) {
            throw new Fatal(stale + "process " + pid + " does not hold it open)", ESRCH);
        }
        // Pid 1 is start_server when it is a container's init and the caller runs in that container (kubectl exec,
        // an exec probe). Anywhere else it names this machine's init, which a HUP or TERM would reload or stop: so
        // only /proc's word that pid 1 has this very file open counts, never the benefit of the doubt.
        if (pid == 1 && open == null) {
            throw Fatal.of("invalid pid in " + path + ":" + text + " (/proc does not show that pid 1 holds it open,"
                    + " as start_server does when it is the init of the caller's pid namespace)");
        }
        return pid;
    }

    /** Whether {@code pid} has the file open; null when /proc does not let us see (another user's process). */
    private static Boolean holdsOpen(long pid, Posix.FileStatus file) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.anyMatch(fd -> isFile(fd, file));
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | UncheckedIOException e) {
            return null;
        }
    }

    private static boolean isFile(Path fd, Posix.FileStatus file) {
        try {
            var attributes = Files.readAttributes(fd, "unix:ino,dev");
            return attributes.get("ino").equals(file.inode()) && attributes.get("dev").equals(file.device());
        } catch (IOException e) {
            return false;
        }
    }
}

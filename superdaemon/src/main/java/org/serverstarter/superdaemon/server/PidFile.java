package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;

/**
 * The {@code --pid-file}: {@code PID\n}, with an exclusive {@code flock} held until the very end of shutdown, so
 * that {@code --stop} (ours or Perl's) can wait for the lock to know that every worker has exited.
 *
 * <p>The file is opened without following a symbolic link, must be a regular file of ours with no other name, and
 * is written through the locked descriptor, so a link planted in a shared directory redirects nothing. The lock is
 * taken before anything is bound or removed: a second instance pointed at the same file stops there (Perl truncates
 * the running one's file first, then blocks for ever).
 */
public final class PidFile {
    private static final int EWOULDBLOCK = 11;

    private final String path;
    private final int fd;
    private final long inode;

    private PidFile(String path, int fd, long inode) {
        this.path = path;
        this.fd = fd;
        this.inode = inode;
    }

    /** Opens and locks the file; the caller writes the pid ({@link #write}). */
    static PidFile acquire(String path) {
        int fd;
        try {
            fd = Posix.openNoFollow(path);
        } catch (ErrnoException e) {
            throw Fatal.of("failed to open file:" + path + ": ", e);
        }
        try {
            long inode = checkOurs(path, fd);
            if (!Posix.tryLockExclusive(fd)) {
                throw new Fatal("failed to lock file:" + path + ": another start_server holds it (pid "
                        + readPidOrUnknown(fd) + ")", EWOULDBLOCK);
            }
            return new PidFile(path, fd, inode);
        } catch (RuntimeException e) {
            Posix.close(fd);
            throw e;
        } catch (ErrnoException e) {
            Posix.close(fd);
            throw Fatal.of("flock failed(" + path + "): ", e);
        }
    }

    /**
     * The pid file a daemonized start_server inherited, already locked by its foreground half (the lock belongs to
     * the open file, which both share), at {@code fd}.
     */
    static PidFile adopt(String path, int fd) {
        long inode;
        try {
            inode = checkOurs(path, fd);
        } catch (ErrnoException e) {
            throw Fatal.of("inherited pid file descriptor " + fd + " is not usable:", e);
        }
        Object named;
        try {
            named = Files.getAttribute(Path.of(path), "unix:ino", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw Errors.fatal("failed to open file:" + path + ":", e);
        }
        if (!Long.valueOf(inode).equals(named)) {
            throw Fatal.of("inherited pid file descriptor " + fd + " is not " + path);
        }
        return new PidFile(path, fd, inode);
    }

    /** The file's inode, which names the status socket together with our pid. */
    long inode() {
        return inode;
    }

    int fd() {
        return fd;
    }

    /** Writes {@code pid} as the file's whole content. */
    void write(long pid) {
        try {
            Posix.replaceContent(fd, (pid + "\n").getBytes(StandardCharsets.US_ASCII));
        } catch (ErrnoException e) {
            throw Fatal.of("failed to write file:" + path + ": ", e);
        }
    }

    /**
     * Refuses what a regular pid file of ours would not be: something other than a regular file, a file with a
     * second name (a hard link planted towards another file), or another user's file (they could rewrite the pid
     * while we hold the lock, and {@code --stop} would signal it). Returns the inode.
     */
    private static long checkOurs(String path, int fd) throws ErrnoException {
        Posix.FileStatus status = Posix.status(fd);
        String problem = !status.isRegularFile() ? "not a regular file"
                : status.links() != 1 ? "it has " + status.links() + " names (hard links)"
                : status.uid() != Posix.effectiveUid() ? "owned by uid " + status.uid() + ", not by uid "
                        + Posix.effectiveUid() + " that runs start_server"
                : null;
        if (problem != null) {
            throw Fatal.of("refusing the pid file " + path + ": " + problem);
        }
        return status.inode();
    }

    /** The pid the running instance wrote, read through our own descriptor of the file. */
    private static String readPidOrUnknown(int fd) {
        byte[] head = new byte[32];
        long n = Posix.readAt(fd, head, 0);
        if (n <= 0) {
            return "unknown";
        }
        String content = new String(head, 0, (int) n, StandardCharsets.US_ASCII);
        int newline = content.indexOf('\n');
        return newline < 0 ? content : content.substring(0, newline);
    }

    /**
     * Unlinks the file if it is still ours, then lets go of the lock: a waiting {@code --stop} must find it gone.
     */
    void remove() {
        try {
            Object current = Files.getAttribute(Path.of(path), "unix:ino", LinkOption.NOFOLLOW_LINKS);
            if (Long.valueOf(inode).equals(current)) {
                Files.delete(Path.of(path));
            }
        } catch (IOException e) {
            System.err.println(Errors.fatal("failed to unlink file:" + path + ":", e).getMessage());
        }
        Posix.close(fd);
    }
}

package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;

/**
 * The {@code --pid-file}: {@code PID\n}, with an exclusive {@code flock} held until the very end of shutdown, so
 * that {@code --stop} (ours or Perl's) can wait for the lock to know that every worker has exited.
 *
 * <p>Perl truncates the file before it locks it, so a second instance pointed at the same file wipes the running
 * one's pid and then blocks for ever. Here the lock comes first, and a held lock is an error.
 */
public final class PidFile {
    private final String path;
    private final int fd;

    private PidFile(String path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    static PidFile acquire(String path) {
        int fd;
        try {
            fd = Posix.openReadWrite(path, true);
        } catch (ErrnoException e) {
            throw Fatal.of("failed to open file:" + path + ": ", e);
        }
        try {
            if (!Posix.tryLockExclusive(fd)) {
                Posix.close(fd);
                throw new Fatal("failed to lock file:" + path + ": another start_server holds it (pid "
                        + readPidOrUnknown(Path.of(path)) + ")", 11);
            }
            Files.writeString(Path.of(path), ProcessHandle.current().pid() + "\n", StandardCharsets.US_ASCII);
        } catch (ErrnoException e) {
            Posix.close(fd);
            throw Fatal.of("flock failed(" + path + "): ", e);
        } catch (IOException e) {
            Posix.close(fd);
            throw Errors.fatal("failed to open file:" + path + ": ", e);
        }
        return new PidFile(path, fd);
    }

    /** The first line of a pid file, without its line break, as {@code --restart} and {@code --stop} read it. */
    public static String readPid(Path path) throws IOException {
        String content = Files.readString(path, StandardCharsets.US_ASCII);
        int newline = content.indexOf('\n');
        return newline < 0 ? content : content.substring(0, newline);
    }

    private static String readPidOrUnknown(Path path) {
        try {
            return readPid(path);
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Unlinks the file, then lets go of the lock: a waiting {@code --stop} must find the file gone. */
    void remove() {
        try {
            Files.delete(Path.of(path));
        } catch (IOException e) {
            System.err.println(Errors.fatal("failed to unlink file:" + path + ":", e).getMessage());
        }
        Posix.close(fd);
    }
}

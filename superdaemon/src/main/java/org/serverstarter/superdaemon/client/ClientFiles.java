package org.serverstarter.superdaemon.client;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.serverstarter.superdaemon.server.Fatal;
import org.serverstarter.superdaemon.server.PidFile;

/** What both client modes share: reading the pid file, and waiting with an optional {@code --timeout}. */
final class ClientFiles {
    private static final long POLL_MILLIS = 100;
    private static final int ETIMEDOUT = 110;
    private ClientFiles() {
    }

    /** The first line of the pid file, or Perl's error when it cannot be read. */
    static String readPid(String path) {
        try {
            return PidFile.readPid(Path.of(path));
        } catch (NoSuchFileException e) {
            throw new Fatal("failed to open file:" + path + ":No such file or directory", 2);
        } catch (IOException e) {
            throw Fatal.of("failed to open file:" + path + ":" + e.getMessage());
        }
    }

    /** The {@code System.nanoTime()} at which to give up; practically never without a timeout. */
    static long deadline(Long timeoutSeconds) {
        long seconds = timeoutSeconds == null ? 100L * 365 * 24 * 3600 : Math.max(0, timeoutSeconds);
        return System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
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

    static long parsePid(String pid, String path) {
        if (!pid.matches("\\d+") || pid.length() > 9) {
            throw Fatal.of("invalid pid in " + path + ":" + pid);
        }
        return Long.parseLong(pid);
    }
}

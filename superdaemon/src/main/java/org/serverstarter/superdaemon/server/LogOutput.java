package org.serverstarter.superdaemon.server;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.SpawnRequest;
import org.serverstarter.superdaemon.posix.SpawnRequest.Placement;

/**
 * The {@code --log-file}: a file opened for appending, or {@code | command} run through {@code /bin/sh -c} with the
 * log on its stdin. It is opened early so that a bad path fails before any socket exists, and becomes the
 * superdaemon's (and so every worker's) stdout and stderr once set-up is complete.
 */
final class LogOutput {
    private static final Pattern PIPE = Pattern.compile("^\\s*\\|\\s*(.*)$", Pattern.DOTALL);

    private final String spec;
    private final int fd;
    private final long loggerPid;

    private LogOutput(String spec, int fd, long loggerPid) {
        this.spec = spec;
        this.fd = fd;
        this.loggerPid = loggerPid;
    }

    /** The log a daemonized start_server inherited as its stdout and stderr. */
    static LogOutput inherited(String spec) {
        return new LogOutput(spec, -1, -1);
    }

    static LogOutput open(String spec, List<String> environment) {
        Matcher pipe = PIPE.matcher(spec);
        if (!pipe.matches()) {
            try {
                return new LogOutput(spec, Posix.openAppend(spec), -1);
            } catch (ErrnoException e) {
                throw Fatal.of("failed to open log file:" + spec + ": ", e);
            }
        }
        try {
            int[] ends = Posix.pipe();
            try {
                int pid = Posix.spawn(new SpawnRequest("/bin/sh", List.of("sh", "-c", pipe.group(1)), environment,
                        null, List.of(new Placement(ends[0], 0), new Placement(1, 1), new Placement(2, 2)), false));
                return new LogOutput(spec, ends[1], pid);
            } finally {
                Posix.close(ends[0]);
            }
        } catch (ErrnoException e) {
            throw Fatal.of("failed to open pipe:" + spec + ": ", e);
        }
    }

    /** Makes the log this process's stdout and stderr; the original descriptor is no longer needed. */
    void redirect() {
        System.out.flush();
        System.err.flush();
        try {
            Posix.dup2(fd, 1);
            Posix.dup2(fd, 2);
        } catch (ErrnoException e) {
            throw Fatal.of("failed to dup STDOUT to file: ", e);
        } finally {
            Posix.close(fd);
        }
    }

    /**
     * Opens the log file again and makes it stdout and stderr, for log rotation (USR1; Perl's open issue #48).
     * Workers keep the file they inherited until they are restarted. A {@code | command} log has nothing to reopen.
     */
    void reopen() {
        if (PIPE.matcher(spec).matches()) {
            System.err.println("received USR1, but the log is a pipe; nothing to reopen");
            return;
        }
        int reopened;
        try {
            reopened = Posix.openAppend(spec);
        } catch (ErrnoException e) {
            System.err.println("failed to reopen log file:" + spec + ": " + e.getMessage());
            return;
        }
        System.err.flush();
        try {
            Posix.dup2(reopened, 1);
            Posix.dup2(reopened, 2);
        } catch (ErrnoException e) {
            System.err.println("failed to reopen log file:" + spec + ": " + e.getMessage());
        } finally {
            Posix.close(reopened);
        }
        System.err.println("reopened log file " + spec);
    }

    int fd() {
        return fd;
    }

    /** The pid of the {@code | command} logger, which is our child too, or -1. */
    long loggerPid() {
        return loggerPid;
    }
}

package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 *
 * <p>start_server keeps the read end of the logger's pipe too, so the pipe never breaks: when the logger exits, the
 * workers' writes do not fail (Perl's workers die of EPIPE), start_server says so on its original stderr and starts
 * the command again on the same pipe. A command that keeps exiting within a second of its start is given up after
 * three tries; the log is then read and discarded, so that nobody blocks on a full pipe.
 */
final class LogOutput {
    private static final Pattern PIPE = Pattern.compile("^\\s*\\|\\s*(.*)$", Pattern.DOTALL);
    private static final long QUICK_EXIT_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int QUICK_EXITS_TOLERATED = 3;
    private static final int ELOOP = 40;
    private static final int EACCES = 13;

    private final String spec;
    private final int fd;
    private final int pipeReadFd;
    private final List<String> environment;
    private long loggerPid;
    private long loggerStartedNanos;
    private int quickExits;
    private int console = -1;

    private LogOutput(String spec, int fd, int pipeReadFd, List<String> environment) {
        this.spec = spec;
        this.fd = fd;
        this.pipeReadFd = pipeReadFd;
        this.environment = environment;
        this.loggerPid = -1;
    }

    /** The log file a daemonized start_server inherited as its stdout and stderr. */
    static LogOutput inherited(String spec) {
        return new LogOutput(spec, -1, -1, List.of());
    }

    /**
     * The {@code | command} log a previous image of start_server ran ({@code --upgrade}): the pipe's write end is
     * already our stdout and stderr, and its logger, our child still, is reaped and restarted from here on; a log
     * that had been given up on is read and discarded again.
     */
    static LogOutput adopted(String spec, int pipeReadFd, long loggerPid, List<String> environment) {
        LogOutput log = new LogOutput(spec, -1, pipeReadFd, environment);
        log.loggerPid = loggerPid;
        log.loggerStartedNanos = System.nanoTime() - QUICK_EXIT_NANOS;
        if (loggerPid <= 0) {
            log.giveUp("the log command was given up on before the upgrade");
        }
        return log;
    }

    /** The read end of a {@code | command} log's pipe, or -1. */
    int pipeReadFd() {
        return pipeReadFd;
    }

    static boolean isCommand(String spec) {
        return PIPE.matcher(spec).matches();
    }

    static LogOutput open(String spec, List<String> environment) {
        if (!isCommand(spec)) {
            try {
                return new LogOutput(spec, openFile(spec), -1, List.of());
            } catch (ErrnoException e) {
                throw Fatal.of("failed to open log file:" + spec + ": ", e);
            }
        }
        try {
            int[] ends = Posix.pipe();
            LogOutput log = new LogOutput(spec, ends[1], ends[0], environment);
            try {
                log.startLogger();
            } catch (ErrnoException e) {
                Posix.close(ends[0]);
                Posix.close(ends[1]);
                throw e;
            }
            return log;
        } catch (ErrnoException e) {
            throw Fatal.of("failed to open pipe:" + spec + ": ", e);
        }
    }

    /**
     * Opens the log file for appending, never waiting for a FIFO's reader. In a directory other users may write to,
     * it must be a file that cannot have been planted there: a regular file of start_server's user or root with a
     * single name, reached through no link or one of theirs (Linux's {@code protected_symlinks} and
     * {@code protected_regular} rules, kept where those are off). Anywhere else, as in Perl, whatever is there.
     */
    private static int openFile(String spec) throws ErrnoException {
        int fd;
        try {
            fd = Posix.openAppend(spec, false);
        } catch (ErrnoException e) {
            if (e.errno() != ELOOP) {
                throw e;
            }
            fd = openThroughLink(spec);
        }
        try {
            Posix.FileStatus file = Posix.status(fd);
            if (file.isRegularFile() && inSharedDirectory(spec)) {
                if (file.links() != 1) {
                    throw new ErrnoException(EACCES, "it has " + file.links() + " names (hard links)");
                }
                if (file.uid() != 0 && file.uid() != Posix.effectiveUid()) {
                    throw new ErrnoException(EACCES, "owned by uid " + file.uid() + " in a directory others may write");
                }
            }
        } catch (ErrnoException e) {
            Posix.close(fd);
            throw e;
        }
        return fd;
    }

    /** Follows a link at the log's name only if it is root's or ours, and checks it named that file all along. */
    private static int openThroughLink(String spec) throws ErrnoException {
        int owner = linkOwner(spec);
        if (owner != 0 && owner != Posix.effectiveUid()) {
            throw new ErrnoException(ELOOP, "a symbolic link owned by uid " + owner + ", not followed");
        }
        int fd = Posix.openAppend(spec, true);
        Posix.FileStatus opened = Posix.status(fd);
        try {
            var named = Files.readAttributes(Path.of(spec), "unix:ino,dev");
            if (linkOwner(spec) == owner && named.get("ino").equals(opened.inode())
                    && named.get("dev").equals(opened.device())) {
                return fd;
            }
        } catch (IOException e) {
            // Gone in between: refused below, like a swapped link.
        }
        Posix.close(fd);
        throw new ErrnoException(ELOOP, "the symbolic link changed while it was followed");
    }

    private static int linkOwner(String spec) throws ErrnoException {
        try {
            return (Integer) Files.getAttribute(Path.of(spec), "unix:uid", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new ErrnoException(ELOOP, "the symbolic link changed while it was followed");
        }
    }

    private static boolean inSharedDirectory(String spec) {
        try {
            Path parent = Path.of(spec).toAbsolutePath().getParent();
            return ((Integer) Files.getAttribute(parent, "unix:mode") & 0022) != 0;
        } catch (IOException | RuntimeException e) {
            return true;
        }
    }

    private void startLogger() throws ErrnoException {
        Matcher command = PIPE.matcher(spec);
        command.matches();
        // The command's own output goes where start_server's went before the log took over, never into the log.
        int out = console >= 0 ? console : 1;
        int err = console >= 0 ? console : 2;
        loggerPid = Posix.spawn(new SpawnRequest("/bin/sh", List.of("sh", "-c", command.group(1)), environment,
                null, List.of(new Placement(pipeReadFd, 0), new Placement(out, 1), new Placement(err, 2)),
                SpawnRequest.Grouping.INHERIT));
        loggerStartedNanos = System.nanoTime();
    }

    /**
     * The logger has exited: says so where it can still be seen and starts the command again, or gives up on it.
     * Returns the new logger's pid, or -1.
     */
    long loggerExited(long pid, int status) {
        String exited = "log command " + pid + " exited, status:" + status;
        quickExits = System.nanoTime() - loggerStartedNanos < QUICK_EXIT_NANOS ? quickExits + 1 : 0;
        if (quickExits >= QUICK_EXITS_TOLERATED) {
            return giveUp(exited + "; it exited " + quickExits + " times within a second of its start");
        }
        try {
            startLogger();
        } catch (ErrnoException e) {
            return giveUp(exited + "; cannot start it again: " + e.getMessage());
        }
        String line = exited + ", started it again as " + loggerPid;
        toConsole(line);
        System.err.println(line);
        return loggerPid;
    }

    private long giveUp(String reason) {
        toConsole(reason + "; the log is discarded from now on");
        loggerPid = -1;
        Thread discard = new Thread(this::discard, "log-discard");
        discard.setDaemon(true);
        discard.start();
        return -1;
    }

    private void discard() {
        byte[] buffer = new byte[8192];
        while (Posix.read(pipeReadFd, buffer) > 0) {
            // Read only so that writers never block on a full pipe.
        }
    }

    /** A line on the stderr start_server had before the log took it over, if that still goes anywhere. */
    private void toConsole(String line) {
        if (console >= 0) {
            Posix.writeQuietly(console, (line + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * Makes the log this process's stdout and stderr; the original descriptor is no longer needed. The original
     * stderr is kept, close-on-exec, for what must be said when the log itself fails.
     */
    void redirect() {
        System.out.flush();
        System.err.flush();
        try {
            console = Posix.duplicate(2);
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
        if (isCommand(spec)) {
            System.err.println("received USR1, but the log is a pipe; nothing to reopen");
            return;
        }
        int reopened;
        try {
            reopened = openFile(spec);
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

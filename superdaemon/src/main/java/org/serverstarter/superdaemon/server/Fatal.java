package org.serverstarter.superdaemon.server;

import org.serverstarter.superdaemon.posix.ErrnoException;

/**
 * A fatal error: one line for stderr and the exit status. Perl's {@code die} exits with errno (255 when errno is 0),
 * and scripts test those numbers, so the status follows the same rule.
 */
public final class Fatal extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** Perl's status for a {@code die} without an errno, and ours for every error that has none. */
    public static final int NO_ERRNO = 255;

    private final int exitStatus;

    public Fatal(String message, int exitStatus) {
        super(message, null, false, false);
        this.exitStatus = exitStatus;
    }

    /** A message that ends with the OS's reason, exiting with its errno. */
    public static Fatal of(String prefix, ErrnoException e) {
        return new Fatal(prefix + e.getMessage(), e.errno() == 0 ? NO_ERRNO : e.errno());
    }

    /** An error with no errno behind it; Perl exits 255 for those. */
    public static Fatal of(String message) {
        return new Fatal(message, NO_ERRNO);
    }

    public int exitStatus() {
        return exitStatus;
    }
}

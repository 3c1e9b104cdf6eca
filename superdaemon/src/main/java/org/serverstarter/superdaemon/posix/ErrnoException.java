package org.serverstarter.superdaemon.posix;

/**
 * A failed system call. {@link #getMessage()} is the OS's text for the error ({@code strerror}), which is what Perl
 * prints as {@code $!}, and {@link #errno()} is the number Perl's {@code die} uses as the exit status.
 */
public final class ErrnoException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int errno;

    public ErrnoException(int errno, String reason) {
        super(reason);
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}

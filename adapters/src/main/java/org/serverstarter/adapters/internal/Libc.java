package org.serverstarter.adapters.internal;

import java.io.IOException;

import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * The libc functions the adapters need where the JDK has no equivalent: unix datagram sockets for
 * {@link NotifySocket}, the file status flags for {@code InheritedSocket.setNonBlocking()}, the signals of
 * {@code SlowStart}, and waiting on an
 * inherited pipe for {@link Lifeline}. Called through jnr-ffi; the library is loaded on first use only, so a process
 * that needs none of them never loads native code.
 */
public final class Libc {
    private Libc() {}

    /** The libc functions used. Public only because jnr-ffi generates its implementation in another package. */
    public interface Functions {
        int socket(int domain, int type, int protocol);

        long sendto(int fd, @In byte[] message, long length, int flags, @In byte[] address, int addressLength);

        int close(int fd);

        /** Variadic in C; every command used here takes at most one int, which every Linux ABI passes like this. */
        int fcntl(int fd, int command, int argument);

        /** {@code fds} holds {@code nfds} {@code struct pollfd}s: int fd, short events, short revents. */
        int poll(@In @Out byte[] fds, long nfds, int timeoutMillis);

        long read(int fd, @Out byte[] buffer, long count);

        String strerror(int errno);

        int kill(int pid, int signal);
    }

    private static final class Loaded {
        static final Functions C = LibraryLoader.create(Functions.class).load("c");
        static final Runtime RUNTIME = Runtime.getRuntime(C);
    }

    /** libc, loaded on the first call. */
    public static Functions get() throws IOException {
        try {
            return Loaded.C;
        } catch (LinkageError e) {
            throw new IOException("cannot load libc through jnr-ffi: " + e, e);
        }
    }

    /**
     * Loads libc on a thread of its own. Loading jnr-ffi costs 100-200 ms, which would otherwise come between "the
     * server accepts" and the READY=1 that lets the superdaemon retire the old generation.
     */
    public static void loadInBackground() {
        Thread loader = new Thread(() -> {
            try {
                get();
            } catch (IOException e) {
                // Reported by the send that needs it.
            }
        }, "libc-loader");
        loader.setDaemon(true);
        loader.start();
    }

    /** The reason the last failed call of this thread gave, e.g. {@code Bad file descriptor (errno 9)}. */
    public static String lastError() {
        int errno = lastErrno();
        return Loaded.C.strerror(errno) + " (errno " + errno + ")";
    }

    /** The errno the last failed call of this thread left. */
    public static int lastErrno() {
        return LastError.getLastError(Loaded.RUNTIME);
    }
}

package org.serverstarter.superdaemon.server;

import java.util.function.Consumer;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;

/**
 * What the status and upgrade sockets share: a unix stream socket in Linux's abstract namespace, which needs no
 * option and leaves no file behind however start_server ends, served by one daemon thread that hears only
 * start_server's own user and root (SO_PEERCRED, the kernel's word: an abstract socket has no file permissions to
 * keep others out). Anyone else's connection is closed without a word; the client says what that means.
 */
final class PrivateSocket {
    /** Bounds each write to a client: one that does not read cannot hold anything up. */
    private static final long SEND_TIMEOUT_MILLIS = 1000;
    private static final int EADDRINUSE = 98;

    /** What to do with a connection from start_server's user or root. */
    interface Handler {
        /** Returns true when it keeps the connection (and closes it later itself). */
        boolean handle(int connection) throws ErrnoException;
    }

    private PrivateSocket() {
    }

    /**
     * Listens on {@code name}; on failure says why in one line and returns -1, and {@code --kind} does not answer
     * for this run. Anyone could bind the predictable name first; clients are not fooled, because they check that
     * the socket's owner is the pid in the pid file.
     */
    static int listen(String name, String kind, Consumer<String> log) {
        int fd;
        try {
            fd = Posix.socket(Posix.AF_UNIX, Posix.SOCK_STREAM);
        } catch (ErrnoException e) {
            log.accept("cannot create the " + kind + " socket (--" + kind + " will not answer):" + e.getMessage());
            return -1;
        }
        try {
            Posix.bind(fd, name);
            Posix.listen(fd, 16);
            return fd;
        } catch (ErrnoException e) {
            Posix.close(fd);
            log.accept(e.errno() == EADDRINUSE
                    ? "another process has taken the " + kind + " socket " + name + "; --" + kind + " will not answer"
                    : "cannot listen on the " + kind + " socket " + name + " (--" + kind + " will not answer):"
                            + e.getMessage());
            return -1;
        }
    }

    /** Accepts on {@code fd} from a daemon thread named {@code thread}, for ever (until the process exits or execs). */
    static void serveFrom(int fd, String thread, Handler handler) {
        Thread server = new Thread(() -> serve(fd, handler), thread);
        server.setDaemon(true);
        server.start();
    }

    private static void serve(int fd, Handler handler) {
        int ourUid = Posix.effectiveUid();
        while (true) {
            int connection;
            try {
                connection = Posix.accept(fd);
            } catch (ErrnoException e) {
                if (e.errno() == 24 || e.errno() == 23 || e.errno() == 105 || e.errno() == 12) {
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM: out of resources for now; the connection waits in the backlog.
                    pause();
                    continue;
                }
                if (e.errno() == 103 || e.errno() == 71) {
                    continue; // ECONNABORTED, EPROTO: that client gave up; the next one is served
                }
                return;
            }
            boolean kept = false;
            try {
                Posix.PeerCredentials peer = Posix.peerCredentials(connection);
                if (peer.uid() == ourUid || peer.uid() == 0) {
                    Posix.setTimeouts(connection, SEND_TIMEOUT_MILLIS);
                    kept = handler.handle(connection);
                }
            } catch (ErrnoException e) {
                // The client went away or did not read within the timeout: nothing to do but close.
            } finally {
                if (!kept) {
                    Posix.close(connection);
                }
            }
        }
    }

    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

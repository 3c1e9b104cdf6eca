package org.serverstarter.superdaemon.server;

import java.util.function.Consumer;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;

/**
 * Where {@code start_server --upgrade} asks: a unix stream socket in Linux's abstract namespace beside the status
 * socket, named the same way ({@link #name}). Connecting is the request; the connection stays open until the
 * outcome is written to it, by this image when the new one cannot start, or by the new image once it runs (the
 * connection is handed over across the exec). A signal could not carry the answer back, and the one left free by
 * Perl's start_server and nginx's convention, USR2, is HotSpot's own.
 *
 * <p>Only start_server's own user and root are heard (SO_PEERCRED, the kernel's word); anyone else's connection is
 * closed unanswered. The accepting thread only posts the connection to the supervisor's loop, which decides.
 */
public final class UpgradeSocket {
    /** Bounds the outcome's write: a client that does not read cannot hold up the loop. */
    private static final long SEND_TIMEOUT_MILLIS = 1000;
    private static final int EADDRINUSE = 98;

    private UpgradeSocket() {
    }

    public static String name(long pid, long pidFileInode) {
        return "@server-starter/" + pid + "/" + pidFileInode + "/upgrade";
    }

    /** Listens on {@code name}; on failure says why in one line and returns -1 (--upgrade then is off). */
    static int listen(String name, Consumer<String> log) {
        int fd;
        try {
            fd = Posix.socket(Posix.AF_UNIX, Posix.SOCK_STREAM);
        } catch (ErrnoException e) {
            log.accept("cannot create the upgrade socket (--upgrade will not answer):" + e.getMessage());
            return -1;
        }
        try {
            Posix.bind(fd, name);
            Posix.listen(fd, 16);
            return fd;
        } catch (ErrnoException e) {
            Posix.close(fd);
            log.accept(e.errno() == EADDRINUSE
                    ? "another process has taken the upgrade socket " + name + "; --upgrade will not answer"
                    : "cannot listen on the upgrade socket " + name + " (--upgrade will not answer):"
                            + e.getMessage());
            return -1;
        }
    }

    /** Accepts from a daemon thread, for ever; each heard request becomes an {@link Event.Upgrade}. */
    static void serveFrom(int fd, Consumer<Event> post) {
        Thread thread = new Thread(() -> serve(fd, post), "upgrade-socket");
        thread.setDaemon(true); // blocked in accept until the process exits or execs
        thread.start();
    }

    private static void serve(int fd, Consumer<Event> post) {
        int ourUid = Posix.effectiveUid();
        while (true) {
            int connection;
            try {
                connection = Posix.accept(fd);
            } catch (ErrnoException e) {
                if (e.errno() == 103 || e.errno() == 71) {
                    continue; // ECONNABORTED, EPROTO: that client gave up
                }
                if (e.errno() == 24 || e.errno() == 23 || e.errno() == 105 || e.errno() == 12) {
                    pause(); // out of descriptors or memory for now; the client waits in the backlog
                    continue;
                }
                return;
            }
            try {
                Posix.PeerCredentials peer = Posix.peerCredentials(connection);
                if (peer.uid() == ourUid || peer.uid() == 0) {
                    Posix.setTimeouts(connection, SEND_TIMEOUT_MILLIS);
                    post.accept(new Event.Upgrade(connection));
                    continue;
                }
            } catch (ErrnoException e) {
                // Gone already.
            }
            Posix.close(connection);
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

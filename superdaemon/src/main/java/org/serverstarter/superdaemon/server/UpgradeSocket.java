package org.serverstarter.superdaemon.server;

import java.util.function.Consumer;

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
    private UpgradeSocket() {
    }

    public static String name(long pid, long pidFileInode) {
        return "@server-starter/" + pid + "/" + pidFileInode + "/upgrade";
    }

    /** Listens on {@code name}; on failure says why in one line and returns -1 (--upgrade then is off). */
    static int listen(String name, Consumer<String> log) {
        return PrivateSocket.listen(name, "upgrade", log);
    }

    /** Accepts from a daemon thread, for ever; each heard request becomes an {@link Event.Upgrade}. */
    static void serveFrom(int fd, Consumer<Event> post) {
        PrivateSocket.serveFrom(fd, "upgrade-socket", connection -> {
            post.accept(new Event.Upgrade(connection));
            return true;
        });
    }
}

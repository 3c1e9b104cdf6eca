package org.serverstarter.superdaemon.server;

import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.serverstarter.superdaemon.posix.Posix;

/**
 * The server side of {@code start_server --status}: a unix stream socket in Linux's abstract namespace, named after
 * start_server's pid and its pid file ({@link #name}), so that it needs no option and leaves no file behind however
 * start_server ends. One daemon thread accepts, checks who connected (SO_PEERCRED: start_server's own user or root,
 * since an abstract socket has no file permissions to keep others out), writes the latest {@link Status} as JSON and
 * closes. It never reads from the client, so a client that connects and sends nothing costs one accept; a client
 * that does not read is bounded by the send timeout, and the document is far smaller than a socket buffer anyway.
 * The supervisor's loop never waits for this thread: it only publishes snapshots into a volatile field.
 *
 * <p>Anyone could bind the name first (it is predictable). Then {@code --status} is off for this run, said in one
 * line; clients are not fooled, because they check that the socket's owner (SO_PEERCRED of the listener) is the pid
 * in the pid file.
 */
public final class StatusSocket {
    private StatusSocket() {
    }

    /**
     * The socket's name for the start_server of {@code pid} whose pid file has inode {@code pidFileInode}. The inode
     * is there for pods whose containers share a network namespace (so an abstract namespace) but not a pid
     * namespace: two start_servers that are both PID 1 get different names.
     */
    public static String name(long pid, long pidFileInode) {
        return "@server-starter/" + pid + "/" + pidFileInode + "/status";
    }

    /**
     * Listens on {@code name} and serves from a daemon thread; on failure says why in one line and serves nothing.
     * Returns the listening socket (handed over by {@code --upgrade}), or -1.
     */
    static int start(String name, Supplier<Status> status, Consumer<String> log) {
        int fd = PrivateSocket.listen(name, "status", log);
        if (fd >= 0) {
            serveFrom(fd, status);
        }
        return fd;
    }

    /**
     * Serves on a socket that already listens: the one a previous image of start_server handed over
     * ({@code --upgrade}), so that clients that connect during the exec wait in its backlog instead of being refused.
     */
    static void serveFrom(int fd, Supplier<Status> status) {
        PrivateSocket.serveFrom(fd, "status-socket", connection -> {
            Posix.writeFully(connection, status.get().toJson().getBytes(StandardCharsets.UTF_8));
            return false;
        });
    }
}

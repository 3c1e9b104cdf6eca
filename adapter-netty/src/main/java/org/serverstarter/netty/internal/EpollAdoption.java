package org.serverstarter.netty.internal;

import io.netty.channel.ChannelException;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.Errors;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.StarterException;
import org.serverstarter.adapters.internal.Contract;

/**
 * Wraps an inherited fd number in a native epoll server channel. Epoll takes the int as is, so this path needs no
 * reflection and no JVM flag. Netty does not check what the fd is, so the socket options are checked here first,
 * giving one clear line instead of a channel that never accepts.
 */
public final class EpollAdoption {
    // Linux <sys/socket.h> values; this class only runs where epoll does.
    private static final int SOL_SOCKET = 1;
    private static final int SO_TYPE = 3;
    private static final int SO_ACCEPTCONN = 30;
    private static final int SO_DOMAIN = 39;
    private static final int SOCK_STREAM = 1;
    private static final int AF_UNIX = 1;

    private EpollAdoption() {}

    /** The socket as a server channel that accepts nothing until {@link AcceptGate#openWhenReady} opens it. */
    public static ServerChannel adopt(InheritedSocket socket) {
        Epoll.ensureAvailability();
        check(socket);
        // Superdaemons pass blocking sockets, and Netty's epoll loop does not expect one: when several processes
        // accept on the socket (overlapping generations, prefork), each connection wakes them all, and a loser's
        // accept() would block this event loop until the next connection. The flag is shared by every process
        // holding the socket; JDK-based generations work either way.
        socket.setNonBlocking();
        // The one-argument domain constructor reports the channel inactive, so it would never accept.
        return AcceptGate.closed(socket.isUnix()
                ? new EpollServerDomainSocketChannel(socket.fd(), true)
                : new EpollServerSocketChannel(socket.fd()));
    }

    private static void check(InheritedSocket socket) {
        int type;
        int listening;
        int domain;
        try {
            // Not closed: the Socket object only borrows the fd number to ask the kernel about it.
            Socket probe = new Socket(socket.fd());
            type = probe.getIntOpt(SOL_SOCKET, SO_TYPE);
            listening = probe.getIntOpt(SOL_SOCKET, SO_ACCEPTCONN);
            domain = probe.getIntOpt(SOL_SOCKET, SO_DOMAIN);
        } catch (IOException | ChannelException e) {
            // The constructor wraps the native error in a ChannelException, getIntOpt throws it as is.
            Throwable error = e instanceof ChannelException && e.getCause() != null ? e.getCause() : e;
            boolean closed = error instanceof Errors.NativeIoException
                    && ((Errors.NativeIoException) error).expectedErr() == Errors.ERRNO_EBADF_NEGATIVE;
            throw fail(socket, "fd " + socket.fd() + (closed ? " is not open in this process" : " is not a socket")
                    + " (" + error.getMessage() + ")", e);
        }
        if (type != SOCK_STREAM || listening == 0) {
            throw fail(socket, "fd " + socket.fd() + " is not a listening stream socket", null);
        }
        if (socket.isUnix() != (domain == AF_UNIX)) {
            throw fail(socket, "fd " + socket.fd() + " is " + (domain == AF_UNIX ? "a unix" : "a TCP")
                    + " socket, but the entry names " + (socket.isUnix() ? "a unix socket path" : "a TCP address"),
                    null);
        }
    }

    private static StarterException fail(InheritedSocket socket, String why, Throwable cause) {
        return Contract.entryError(socket, why, cause);
    }
}

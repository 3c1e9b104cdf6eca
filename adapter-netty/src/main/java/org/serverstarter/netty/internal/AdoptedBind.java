package org.serverstarter.netty.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import org.serverstarter.adapters.InheritedSocket;

/**
 * Answers the one {@code bind} that a framework (Reactor Netty, grpc-netty) issues on an adopted server channel,
 * without {@code bind(2)}: the inherited socket is bound and listening already, and {@code bind(2)} on it would fail
 * with {@code EINVAL}; the channel accepts from its registration on. A bind to another address than the socket's own
 * means the framework no longer serves the channel it was given, and fails naming the socket. A channel that was
 * closed before the bind gets the real one, which fails as loudly as it should.
 */
public final class AdoptedBind extends ChannelOutboundHandlerAdapter {
    private static final String NAME = "serverStarter.adoptedBind";

    private final InheritedSocket socket;
    private final SocketAddress address;
    private final String framework;
    private final String otherAddressMeans;

    AdoptedBind(InheritedSocket socket, SocketAddress address, String framework, String otherAddressMeans) {
        this.socket = socket;
        this.address = address;
        this.framework = framework;
        this.otherAddressMeans = otherAddressMeans;
    }

    /**
     * Puts the handler first in {@code channel}'s pipeline, before the framework sees the channel.
     *
     * @param framework who binds, for the error ("grpc-netty")
     * @param otherAddressMeans what a bind to another address says about that framework, for the error
     * @return the socket's own address, of the type a bind on {@code channel}'s transport takes: the address the
     *     framework must be told to bind
     */
    public static SocketAddress install(ServerChannel channel, InheritedSocket socket, String framework,
            String otherAddressMeans) {
        SocketAddress address = ownAddress(socket, channel);
        channel.pipeline().addFirst(NAME, new AdoptedBind(socket, address, framework, otherAddressMeans));
        return address;
    }

    /** Netty on epoll binds unix sockets with its own address type, on NIO with the JDK's. */
    private static SocketAddress ownAddress(InheritedSocket socket, ServerChannel channel) {
        if (!socket.isUnix()) {
            return socket.tcpAddress().orElseThrow();
        }
        String path = socket.unixPath().orElseThrow().toString();
        return channel instanceof EpollServerDomainSocketChannel
                ? new DomainSocketAddress(path) : UnixDomainSocketAddress.of(path);
    }

    @Override
    public void bind(ChannelHandlerContext ctx, SocketAddress localAddress, ChannelPromise promise) {
        ctx.pipeline().remove(this);
        if (!address.equals(localAddress)) {
            promise.setFailure(new IllegalStateException(framework + " bound the channel of " + socket + " to "
                    + localAddress + ": " + otherAddressMeans));
        } else if (ctx.channel().isActive()) {
            promise.setSuccess();
        } else {
            ctx.bind(localAddress, promise);
        }
    }
}

package org.serverstarter.grpc;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import java.net.SocketAddress;
import org.serverstarter.adapters.InheritedSocket;

/**
 * Answers the {@code bind} that grpc-netty issues for each listen address on the channel its channel factory made. The
 * inherited socket is bound and listening already, and {@code bind(2)} on it would fail with {@code EINVAL}; the
 * channel accepts from its registration on. A bind to another address than the socket's own means grpc-netty no longer
 * asks for its channels in the order of its listen addresses, and fails.
 */
final class InheritedBind extends ChannelOutboundHandlerAdapter {
    static final String NAME = "serverStarter.inheritedBind";

    private final InheritedSocket socket;
    private final SocketAddress address;

    InheritedBind(InheritedSocket socket, SocketAddress address) {
        this.socket = socket;
        this.address = address;
    }

    @Override
    public void bind(ChannelHandlerContext ctx, SocketAddress localAddress, ChannelPromise promise) {
        ctx.pipeline().remove(this);
        if (!address.equals(localAddress)) {
            promise.setFailure(new IllegalStateException("grpc-netty bound the channel of " + socket + " to "
                    + localAddress + ": this grpc-netty no longer makes its server channels in the order of its "
                    + "listen addresses"));
        } else if (ctx.channel().isActive()) {
            promise.setSuccess();
        } else {
            // Closed before grpc-netty started: the real bind fails as loudly as it should.
            ctx.bind(localAddress, promise);
        }
    }
}

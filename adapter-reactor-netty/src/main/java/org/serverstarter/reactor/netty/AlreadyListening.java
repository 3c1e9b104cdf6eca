package org.serverstarter.reactor.netty;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import java.net.SocketAddress;

/**
 * Answers the {@code bind} that Reactor Netty always issues after registering a server channel. An inherited socket is
 * bound and listening already, and {@code bind(2)} on it would fail with {@code EINVAL}. A channel that is not
 * listening gets the real {@code bind}, so that fails as loudly as it should.
 */
@ChannelHandler.Sharable
final class AlreadyListening extends ChannelOutboundHandlerAdapter {
    static final String NAME = "serverStarter.alreadyListening";
    static final AlreadyListening INSTANCE = new AlreadyListening();

    private AlreadyListening() {}

    @Override
    public void bind(ChannelHandlerContext ctx, SocketAddress localAddress, ChannelPromise promise) {
        if (ctx.channel().isActive()) {
            ctx.pipeline().remove(this);
            promise.setSuccess();
        } else {
            ctx.bind(localAddress, promise);
        }
    }
}

package org.serverstarter.netty;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;

/**
 * Stands in for the app's child handler: records each accepted connection, so a drain can wait for them to close,
 * then installs the app's handler.
 */
final class ConnectionTracker extends ChannelInitializer<Channel> {
    private final ChannelGroup connections;
    private final ChannelHandler appHandler;

    ConnectionTracker(ChannelGroup connections, ChannelHandler appHandler) {
        this.connections = connections;
        this.appHandler = appHandler;
    }

    @Override
    protected void initChannel(Channel ch) {
        connections.add(ch);
        ch.pipeline().addLast(appHandler);
    }
}

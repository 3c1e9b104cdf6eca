package org.serverstarter.reactor.netty;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.unix.ServerDomainSocketChannel;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.serverstarter.adapters.InheritedSocket;
import reactor.core.publisher.Mono;
import reactor.netty.resources.LoopResources;

/**
 * The {@link LoopResources} of one adopted {@code HttpServer}. Reactor Netty creates the server channel of each bind
 * through {@link #onChannel}, its public extension point for channel creation, so answering that one call with the
 * inherited socket's channel is all it takes to serve on it; the event loops stay the app's.
 */
final class InheritedLoopResources implements LoopResources {
    private final LoopResources loops;
    private final InheritedSocket socket;
    private final ServerChannel channel;
    private final Consumer<EventLoopGroup> childLoops;
    private final AtomicBoolean handedOut = new AtomicBoolean();

    InheritedLoopResources(LoopResources loops, InheritedSocket socket, ServerChannel channel,
            Consumer<EventLoopGroup> childLoops) {
        this.loops = loops;
        this.socket = socket;
        this.channel = channel;
        this.childLoops = childLoops;
    }

    InheritedSocket socket() {
        return socket;
    }

    ServerChannel channel() {
        return channel;
    }

    @Override
    public <C extends Channel> C onChannel(Class<C> type, EventLoopGroup group) {
        if (!ServerChannel.class.isAssignableFrom(type)) {
            // Client channels (an HttpClient sharing these loops, the DNS resolver) are none of our business.
            return loops.onChannel(type, group);
        }
        if (ServerDomainSocketChannel.class.isAssignableFrom(type) != socket.isUnix()) {
            throw new IllegalStateException("Reactor Netty asked for a " + type.getSimpleName() + " to serve " + socket
                    + ": the HttpServer's bindAddress was changed after ReactorNettyServerStarter.adopt");
        }
        if (!handedOut.compareAndSet(false, true)) {
            // A second channel on the same fd would close it under the first.
            throw new IllegalStateException("the HttpServer adopting " + socket + " was bound already; bind it once");
        }
        // Unchecked as Reactor Netty's own NIO unix channel is: neither is a unix.ServerDomainSocketChannel.
        @SuppressWarnings("unchecked")
        C served = (C) channel;
        return served;
    }

    @Override
    public <C extends Channel> Class<? extends C> onChannelClass(Class<C> type, EventLoopGroup group) {
        return loops.onChannelClass(type, group);
    }

    @Override
    public EventLoopGroup onServer(boolean useNative) {
        EventLoopGroup group = loops.onServer(useNative);
        childLoops.accept(group);
        return group;
    }

    @Override
    public EventLoopGroup onServerSelect(boolean useNative) {
        return loops.onServerSelect(useNative);
    }

    @Override
    public EventLoopGroup onClient(boolean useNative) {
        return loops.onClient(useNative);
    }

    @Override
    public boolean daemon() {
        return loops.daemon();
    }

    // The loops belong to whoever made them (the app, or Reactor Netty's global resources); disposing this view of
    // them must not stop them under the app's other servers and clients.
    @Override
    public void dispose() {}

    @Override
    public Mono<Void> disposeLater(Duration quietPeriod, Duration timeout) {
        return Mono.empty();
    }
}

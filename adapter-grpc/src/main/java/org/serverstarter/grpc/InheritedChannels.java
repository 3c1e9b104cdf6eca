package org.serverstarter.grpc;

import io.netty.channel.ChannelFactory;
import io.netty.channel.ServerChannel;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The channel factory of a {@code NettyServerBuilder} made by {@link GrpcServerStarter#serverBuilder()}: grpc-netty's
 * {@code NettyServer.start} asks it for one server channel per listen address, in the order of those addresses, and
 * gets the adopted channel of the inherited socket at that place. adapter-netty's {@code AdoptedBind} checks each
 * channel's address at its bind, so that a grpc-netty asking in another order fails instead of serving a socket under
 * another's name.
 */
final class InheritedChannels implements ChannelFactory<ServerChannel> {
    private final List<ServerChannel> channels;
    private final AtomicInteger asked = new AtomicInteger();

    InheritedChannels(List<ServerChannel> channels) {
        this.channels = List.copyOf(channels);
    }

    @Override
    public ServerChannel newChannel() {
        int next = asked.getAndIncrement();
        if (next >= channels.size()) {
            // A second channel on the same fd would close it under the first.
            throw new IllegalStateException("grpc-netty asked for server channel " + (next + 1) + " of "
                    + channels.size() + " inherited socket(s)");
        }
        return channels.get(next);
    }

    /**
     * Why grpc-netty did not take exactly one channel per inherited socket, or empty when it did. grpc-netty reports a
     * failed {@link #newChannel} as an unrelated "channel not registered to an event loop", so this says it instead.
     */
    Optional<String> mismatch() {
        int taken = asked.get();
        return taken == channels.size() ? Optional.empty() : Optional.of("grpc-netty asked for " + taken
                + " server channel(s) for " + channels.size() + " inherited socket(s): keep the listen addresses, "
                + "channel type and factory of the builder from GrpcServerStarter.serverBuilder(), and start it once");
    }

    List<ServerChannel> channels() {
        return channels;
    }

    @Override
    public String toString() {
        return "InheritedChannels" + channels;
    }
}

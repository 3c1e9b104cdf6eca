package org.serverstarter.netty.internal;

import io.netty.channel.Channel;
import io.netty.channel.ServerChannel;
import java.util.Collection;
import java.util.List;
import org.serverstarter.adapters.internal.Notify;

/**
 * Keeps an adopted server channel from accepting until the app is ready ({@code Readiness}): a generation that is
 * still warming up leaves its clients in the socket's backlog, to the generation still serving. A Netty server channel
 * accepts only while it reads, and reads on its own only with auto-read on.
 */
public final class AcceptGate {
    private AcceptGate() {}

    /** {@code channel}, not yet registered, set to accept nothing until {@link #openWhenReady} opens it. */
    static ServerChannel closed(ServerChannel channel) {
        channel.config().setAutoRead(false);
        return channel;
    }

    /** Lets {@code channels} accept now, or once the app that deferred {@code READY=1} sends it. */
    public static void openWhenReady(Collection<? extends Channel> channels) {
        List<Channel> opening = List.copyOf(channels);
        Notify.whenReady(() -> opening.forEach(channel -> channel.config().setAutoRead(true)));
    }
}

package io.undertow.protocols.http2;

import java.io.IOException;

import org.xnio.ChannelListeners;

/**
 * The first GOAWAY of a graceful HTTP/2 shutdown, which Undertow 2.3 cannot send: its own GOAWAY is the connection's
 * last frame (writes shut down after it, the connection closed once it is out). This one is not the last frame, so the
 * connection goes on serving the streams the client opened before it.
 *
 * <p>Not a class of the adapter's jar: compiled here against Undertow's package-private frame, it is shipped as the
 * resource {@code org/serverstarter/undertow/ServerStarterGoAway.bytes} and defined in Undertow's own package at run
 * time ({@code org.serverstarter.undertow.Http2Connections}), so that the adapter's jar holds no package of Undertow's
 * (which the module path would refuse as a split package).
 */
final class ServerStarterGoAway extends Http2GoAwayStreamSinkChannel {
    private ServerStarterGoAway(Http2Channel channel, int lastStreamId) {
        super(channel, Http2Channel.ERROR_NO_ERROR, lastStreamId);
    }

    @Override
    protected boolean isLastFrame() {
        return false;
    }

    /** Queues a GOAWAY (NO_ERROR) naming {@code lastStreamId} on {@code channel}; call on its I/O thread. */
    public static void send(Http2Channel channel, int lastStreamId) throws IOException {
        ServerStarterGoAway frame = new ServerStarterGoAway(channel, lastStreamId);
        frame.shutdownWrites();
        if (!frame.flush()) {
            frame.getWriteSetter().set(ChannelListeners.flushingChannelListener(null, null));
            frame.resumeWrites();
        }
    }
}

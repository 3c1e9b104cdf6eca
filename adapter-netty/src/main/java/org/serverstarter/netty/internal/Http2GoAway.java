package org.serverstarter.netty.internal;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.ssl.SslHandler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The graceful end of an HTTP/2 connection (RFC 9113, section 6.8), for the drain: a GOAWAY naming the highest stream
 * id, so that streams the client opened before it read that frame are still served; after {@code grace}, a second
 * GOAWAY naming the last stream the server took; then the connection closes once its open streams have finished.
 *
 * <p>Both frames go through the connection's own {@link Http2ConnectionHandler} (which {@code Http2FrameCodec} is,
 * and so Reactor Netty's HTTP/2 codec), whose {@code goAway} accepts a last stream id that decreases between frames
 * and, after the first, still takes new streams up to the id it names.
 *
 * <p>The grace is a fixed time rather than a PING round trip: the app's handler owns the PING acknowledgements (an
 * {@code Http2FrameListener}, or frames after {@code Http2FrameCodec}), and a drain of a generation that is being
 * replaced can afford a second more than the longest round trip it expects.
 *
 * <p>Needs {@code netty-codec-http2}: callers that may run without it check for it before they touch this class.
 */
public final class Http2GoAway {
    /** Between the two GOAWAY frames: many round trips of any network a server's clients are on. */
    public static final Duration GRACE = Duration.ofSeconds(1);

    private Http2GoAway() {}

    /**
     * Starts the two-step GOAWAY on {@code connection} if it speaks HTTP/2, now or, while its TLS handshake is still
     * under way, once ALPN has chosen its protocol. Connections that speak anything else are left alone. Call from
     * any thread.
     */
    public static void begin(Channel connection, Duration grace) {
        connection.eventLoop().execute(() -> beginOnLoop(connection, grace));
    }

    private static void beginOnLoop(Channel connection, Duration grace) {
        if (!connection.isActive()) {
            return;
        }
        ChannelHandlerContext ctx = connection.pipeline().context(Http2ConnectionHandler.class);
        if (ctx != null) {
            Http2ConnectionHandler handler = (Http2ConnectionHandler) ctx.handler();
            goAway(handler, ctx, Integer.MAX_VALUE);
            ctx.executor().schedule(() -> {
                Http2Connection http2 = handler.connection();
                goAway(handler, ctx, http2.remote().lastStreamCreated());
                closeWhenNoStreams(connection, http2);
            }, grace.toNanos(), TimeUnit.NANOSECONDS);
            return;
        }
        SslHandler tls = connection.pipeline().get(SslHandler.class);
        if (tls != null && !tls.handshakeFuture().isDone()) {
            // Its promise completes just before the handshake event that lets the app's ALPN handler set up the
            // protocol's codec; look again after that.
            tls.handshakeFuture().addListener(f -> begin(connection, grace));
        }
    }

    /**
     * Closes the connection once its last active stream has closed. Not by the handler's own graceful close: that
     * waits for the streams only up to its {@code gracefulShutdownTimeoutMillis}, which is 0 for an
     * {@code Http2FrameCodec} built with Netty's defaults, so it would cut the streams off.
     */
    private static void closeWhenNoStreams(Channel connection, Http2Connection http2) {
        if (http2.numActiveStreams() == 0) {
            connection.close();
            return;
        }
        http2.addListener(new Http2ConnectionAdapter() {
            @Override
            public void onStreamClosed(Http2Stream stream) {
                if (http2.numActiveStreams() == 0) {
                    // Later, not from within the codec's own stream bookkeeping; the stream's last frame is
                    // written by then, and the close goes out after it.
                    connection.eventLoop().execute(connection::close);
                }
            }
        });
    }

    private static void goAway(Http2ConnectionHandler handler, ChannelHandlerContext ctx, int lastStreamId) {
        // A GOAWAY the app or the client's error sent before leaves this a no-op or a failed promise, never a throw.
        handler.goAway(ctx, lastStreamId, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER, ctx.newPromise());
        ctx.flush();
    }
}

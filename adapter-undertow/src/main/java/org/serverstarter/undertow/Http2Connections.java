package org.serverstarter.undertow;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.undertow.Version;
import io.undertow.protocols.http2.Http2Channel;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http2.Http2ServerConnection;

import org.serverstarter.adapters.StarterException;
import org.xnio.IoUtils;

/**
 * Follows the HTTP/2 connections (over TLS or h2c) that carried an exchange, and ends them gracefully when the drain
 * begins, in the two steps of RFC 9113, section 6.8: a GOAWAY naming the highest possible stream id, so that streams
 * the client opened meanwhile are still served; a grace period of {@value #GRACE_MILLIS} ms, enough for those to
 * arrive; then, once no exchange runs on the connection, Undertow's own GOAWAY, which names the last stream the
 * server took and closes the connection once written.
 *
 * <p>Undertow 2.3 can only send the second: its GOAWAY is always the connection's last frame. The first comes from
 * {@code ServerStarterGoAway}, a frame class compiled against Undertow's package-private GOAWAY frame and defined in
 * Undertow's package from this jar's resource {@code ServerStarterGoAway.bytes}. The connection of an exchange is read from
 * {@code Http2ServerConnection}'s private {@code channel} field. undertow-core has no {@code module-info}, so neither
 * needs a JVM flag. A connection that never carried an exchange is not known here; it stays open until its client
 * closes it or the drain times out.
 */
final class Http2Connections {
    static final long GRACE_MILLIS = 1_000;
    private static final String FRAME_RESOURCE = "ServerStarterGoAway.bytes";

    private final Map<Http2Channel, Exchanges> channels = new ConcurrentHashMap<>();
    private final Field connectionChannel;
    private final MethodHandle sendGracefulGoAway;
    private volatile boolean draining;

    /** @throws StarterException when this Undertow lacks what the graceful GOAWAY is built on (one line) */
    Http2Connections() {
        try {
            connectionChannel = Http2ServerConnection.class.getDeclaredField("channel");
            connectionChannel.setAccessible(true);
            byte[] frameClass;
            try (InputStream in = Http2Connections.class.getResourceAsStream(FRAME_RESOURCE)) {
                if (in == null) {
                    throw new IOException("resource " + FRAME_RESOURCE + " is missing");
                }
                frameClass = in.readAllBytes();
            }
            MethodHandles.Lookup undertows = MethodHandles.privateLookupIn(Http2Channel.class, MethodHandles.lookup());
            Class<?> frame = defineOnce(undertows, frameClass);
            sendGracefulGoAway = undertows.findStatic(frame, "send",
                    MethodType.methodType(void.class, Http2Channel.class, int.class));
        } catch (ReflectiveOperationException | IOException | RuntimeException | LinkageError e) {
            throw new StarterException("this Undertow (" + Version.getVersionString() + ") cannot take the graceful "
                    + "HTTP/2 GOAWAY of adapter-undertow, which needs undertow-core 2.3: " + e, e);
        }
    }

    /** The class is defined once per class loader, by whichever starter comes first (tests make several). */
    private static synchronized Class<?> defineOnce(MethodHandles.Lookup undertows, byte[] frameClass)
            throws IllegalAccessException {
        String name = Http2Channel.class.getPackageName() + ".ServerStarterGoAway";
        try {
            return Class.forName(name, false, Http2Channel.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            return undertows.defineClass(frameClass);
        }
    }

    /**
     * Called as an exchange starts, on its connection's I/O thread: counts it on its HTTP/2 connection.
     *
     * @return that connection, null when the exchange is not HTTP/2
     */
    Http2Channel exchangeStarted(HttpServerExchange exchange) {
        if (!(exchange.getConnection() instanceof Http2ServerConnection connection)) {
            return null;
        }
        Http2Channel channel;
        try {
            channel = (Http2Channel) connectionChannel.get(connection);
        } catch (IllegalAccessException e) {
            return null;
        }
        Exchanges exchanges = channels.computeIfAbsent(channel, this::follow);
        exchanges.running.incrementAndGet();
        return channel;
    }

    private Exchanges follow(Http2Channel channel) {
        channel.addCloseTask(closed -> channels.remove(closed));
        if (draining) {
            // Its first exchange came after the drain began: the connection was accepted just before.
            channel.getIoThread().execute(() -> goAway(channel));
        }
        return new Exchanges();
    }

    /** Called once an exchange that {@link #exchangeStarted} counted is complete, on any thread. */
    void exchangeFinished(Http2Channel channel) {
        Exchanges exchanges = channels.get(channel);
        if (exchanges != null && exchanges.running.decrementAndGet() == 0 && exchanges.closing) {
            channel.getIoThread().execute(() -> closeIfIdle(channel));
        }
    }

    /** Begins the graceful GOAWAY on every HTTP/2 connection followed, and on every one that turns up later. */
    void drain() {
        draining = true;
        for (Http2Channel channel : channels.keySet()) {
            channel.getIoThread().execute(() -> goAway(channel));
        }
    }

    private void goAway(Http2Channel channel) {
        try {
            sendGracefulGoAway.invokeExact(channel, Integer.MAX_VALUE);
        } catch (Throwable e) {
            System.err.println("UndertowServerStarter: cannot send GOAWAY to " + channel.getPeerAddress()
                    + ", closing the connection: " + e);
            IoUtils.safeClose(channel);
            return;
        }
        channel.getIoThread().executeAfter(() -> {
            Exchanges exchanges = channels.get(channel);
            if (exchanges != null) {
                exchanges.closing = true;
                closeIfIdle(channel);
            }
        }, GRACE_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** On the connection's I/O thread, where new exchanges start: none can start between the check and the GOAWAY. */
    private void closeIfIdle(Http2Channel channel) {
        Exchanges exchanges = channels.get(channel);
        if (exchanges != null && exchanges.running.get() == 0) {
            channel.sendGoAway(Http2Channel.ERROR_NO_ERROR);
        }
    }

    private static final class Exchanges {
        final AtomicInteger running = new AtomicInteger();
        volatile boolean closing;
    }
}

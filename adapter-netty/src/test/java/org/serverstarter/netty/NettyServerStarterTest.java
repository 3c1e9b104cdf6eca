package org.serverstarter.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.Socket;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;
import org.serverstarter.netty.NettyServerStarter.Transport;
import org.serverstarter.netty.internal.Http2GoAway;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Http2Frames;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;

/**
 * {@link NettyServerStarter} in this JVM, on listening sockets made here with Netty's native socket calls (so their fd
 * numbers are known) and described in a {@code SERVER_STARTER_PORT} value, as a superdaemon would pass them.
 */
class NettyServerStarterTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void nativeSockets() {
        assumeTrue(Epoll.isAvailable(), "needs Netty's native library to create sockets: " + Epoll.unavailabilityCause());
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    @Timeout(60)
    void servesATcpSocketAndDrainsAKeepAliveConnection(Transport transport) throws Exception {
        Socket listening = tcpListening();
        InetSocketAddress address = addressOf(listening);
        serveAndDrain(transport, listening, address.getHostString() + ":" + address.getPort(),
                () -> HttpConnection.open(address));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    @Timeout(60)
    void servesAUnixSocketAndLeavesItsPathInPlace(Transport transport) throws Exception {
        Path path = dir.resolve("app.sock");
        Socket listening = Socket.newSocketDomain();
        listening.bind(new DomainSocketAddress(path.toFile()));
        listening.listen(64);
        serveAndDrain(transport, listening, path.toString(), () -> HttpConnection.open(path));
        assertTrue(Files.exists(path), "the drain deleted " + path);
    }

    @Test
    @Timeout(60)
    void atTheDeadlineTheDrainClosesIdleConnections() throws Exception {
        Socket listening = tcpListening();
        InetSocketAddress address = addressOf(listening);
        NettyServerStarter listener = listenerFor(address, listening);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, Transport.EPOLL.ioHandlerFactory());
        try (HttpConnection idle = registerAndConnect(listener, group, listening, () -> HttpConnection.open(address))) {
            assertEquals(200, idle.get("/").status());

            assertFalse(listener.drain(Duration.ofMillis(300)), "an idle keep-alive connection let the drain end");
            assertThrows(IOException.class, idle::read, "the server kept the idle connection open");
        } finally {
            listener.drain(Duration.ZERO);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * A connection the server channel accepted just before the drain closed it is registered by a task queued on a
     * child event loop, which is busy here. The drain must wait for that task, or it neither waits for the connection
     * nor answers it, and the JVM exits under its request.
     */
    @Test
    @Timeout(60)
    void aConnectionAcceptedJustBeforeTheDrainIsAnswered() throws Exception {
        Socket listening = tcpListening();
        InetSocketAddress address = addressOf(listening);
        NettyServerStarter listener = listenerFor(address, listening);
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, Transport.EPOLL.ioHandlerFactory());
        EventLoopGroup children = new MultiThreadIoEventLoopGroup(1, Transport.EPOLL.ioHandlerFactory());
        SingleThreadEventExecutor child = (SingleThreadEventExecutor) children.next();
        CountDownLatch release = new CountDownLatch(1);
        try {
            ServerBootstrap app = HelloServer.bootstrap(children, listener, "gen=0 pid=0");
            listener.register(new ServerBootstrap().group(boss, children).childHandler(app.config().childHandler()));
            child.execute(() -> {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            try (HttpConnection late = HttpConnection.open(address)) {
                late.send("/");
                Await.until("the connection to be accepted, its registration queued", Duration.ofSeconds(10),
                        () -> child.pendingTasks() >= 1);
                CompletableFuture<Boolean> drained =
                        CompletableFuture.supplyAsync(() -> listener.drain(Duration.ofSeconds(30), Duration.ZERO));
                Await.until("the drain to queue its own task behind the registration", Duration.ofSeconds(10),
                        () -> child.pendingTasks() >= 2);
                release.countDown();
                HttpResponse answer = late.read();
                assertEquals(200, answer.status());
                assertEquals("close", answer.header("connection"));
                assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ran into its deadline");
            }
        } finally {
            release.countDown();
            listener.drain(Duration.ZERO);
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            children.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * An HTTP/2 connection (h2c, the app's own Http2FrameCodec and Http2MultiplexHandler) gets the two-step GOAWAY: the
     * highest stream id first, so a stream the client opens meanwhile is still served; then, after the grace, the last
     * stream taken; the connection closes once that stream has been answered, and the drain ends before its deadline.
     * Without the GOAWAY the connection stays open and idle until the deadline.
     */
    @Test
    @Timeout(60)
    void drainsAnHttp2ConnectionWithTwoGoAways() throws Exception {
        Socket listening = tcpListening();
        InetSocketAddress address = addressOf(listening);
        NettyServerStarter listener = listenerFor(address, listening);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, Transport.EPOLL.ioHandlerFactory());
        try {
            listener.register(new ServerBootstrap().group(group).childHandler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(),
                            new Http2MultiplexHandler(new H2Answers()));
                }
            }));
            try (Http2Frames client = Http2Frames.connect(address, Duration.ofSeconds(20))) {
                client.get(1, "/");
                assertEquals("HEADERS stream 1", client.read().toString());
                assertEquals("DATA stream 1 end", client.read().toString());

                CompletableFuture<Boolean> drained =
                        CompletableFuture.supplyAsync(() -> listener.drain(Duration.ofSeconds(30), Duration.ZERO));
                assertEquals("GOAWAY(" + Integer.MAX_VALUE + ") stream 0", client.read().toString());
                // Sent after the first GOAWAY, before the second: still the server's to answer. It answers after the
                // grace (on the same event loop as the grace's timer), so the stream is open when the second comes.
                client.get(3, "/slow");
                List<String> rest = new ArrayList<>();
                for (Http2Frames.Frame frame = client.read(); frame != null; frame = client.read()) {
                    rest.add(frame.toString());
                }
                assertEquals(List.of("GOAWAY(3) stream 0", "HEADERS stream 3", "DATA stream 3 end"), rest,
                        "the frames up to the connection's close");
                assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ran into its deadline");
            }
        } finally {
            listener.drain(Duration.ZERO);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** Each stream's answer: 200 with a short body, for {@code /slow} after twice the drain's grace. */
    @ChannelHandler.Sharable
    private static final class H2Answers extends SimpleChannelInboundHandler<Http2HeadersFrame> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Http2HeadersFrame request) {
            long delay = request.headers().path().toString().equals("/slow") ? 2 * Http2GoAway.GRACE.toMillis() : 0;
            ctx.executor().schedule(() -> {
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
                ctx.writeAndFlush(new DefaultHttp2DataFrame(
                        Unpooled.copiedBuffer("hello\n", StandardCharsets.UTF_8), true));
            }, delay, TimeUnit.MILLISECONDS);
        }
    }

    @Test
    void notUnderASuperdaemon() {
        NettyServerStarter listener = NettyServerStarter.fromEnvironment(Map.of());
        assertFalse(listener.isPresent());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, Transport.NIO.ioHandlerFactory());
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> listener.register(HelloServer.bootstrap(group, listener, "none")));
            assertEquals("SERVER_STARTER_PORT is not set: not under start_server, so bind a port of your own instead "
                    + "of calling register", e.getMessage());
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void rejectsAGroupItCannotMatchAChannelTo() {
        NettyServerStarter listener = NettyServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", "127.0.0.1:1=99"));
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
        try {
            ServerBootstrap bootstrap = HelloServer.bootstrap(group, listener, "none");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> listener.register(bootstrap));
            assertTrue(e.getMessage().contains("NettyServerStarter.Transport"), e.getMessage());
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static Socket tcpListening() throws IOException {
        Socket listening = Socket.newSocketStream();
        listening.bind(new InetSocketAddress("127.0.0.1", 0));
        listening.listen(64);
        return listening;
    }

    private static InetSocketAddress addressOf(Socket listening) throws IOException {
        return new InetSocketAddress("127.0.0.1", listening.localAddress().getPort());
    }

    /** A listener for {@code listening}, described as a superdaemon would: {@code key=fd}. */
    private static NettyServerStarter listenerFor(InetSocketAddress address, Socket listening) {
        return listenerFor(address.getHostString() + ":" + address.getPort(), listening);
    }

    private static NettyServerStarter listenerFor(String key, Socket listening) {
        return NettyServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", key + "=" + listening.intValue()));
    }

    /** Registers {@code listening} (closing it if that fails, since then nothing else will) and connects to it. */
    private static HttpConnection registerAndConnect(NettyServerStarter listener, EventLoopGroup group, Socket listening,
                                                     Connect connect) throws Exception {
        try {
            listener.register(HelloServer.bootstrap(group, listener, "gen=0 pid=0"));
        } catch (RuntimeException e) {
            listening.close();
            throw e;
        }
        return connect.open();
    }

    private interface Connect {
        HttpConnection open() throws Exception;
    }

    private void serveAndDrain(Transport transport, Socket listening, String key, Connect connect) throws Exception {
        NettyServerStarter listener = listenerFor(key, listening);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, transport.ioHandlerFactory());
        List<Channel> channels = List.of();
        try {
            channels = listener.register(HelloServer.bootstrap(group, listener, "gen=0 pid=0"));
            assertEquals(1, channels.size());
            // The message is built eagerly, so the channel's address is looked up, as any log line would do.
            assertTrue(channels.get(0).isActive(), "not active: " + channels);
            try (HttpConnection keepAlive = connect.open()) {
                HttpResponse first = keepAlive.get("/");
                assertEquals(200, first.status());
                assertFalse(keepAlive.isClosedByServer());

                CompletableFuture<Boolean> drained =
                        CompletableFuture.supplyAsync(() -> listener.drain(Duration.ofSeconds(30), Duration.ZERO));
                Await.until("draining", Duration.ofSeconds(10), listener::isDraining);
                // The drain waits for this connection; its next answer tells the client to go away.
                HttpResponse last = keepAlive.get("/");
                assertEquals(200, last.status());
                assertEquals("close", last.header("connection"));
                assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ran into its deadline");
            }
            assertFalse(channels.get(0).isOpen());
        } finally {
            if (channels.isEmpty()) {
                listening.close(); // never adopted, still ours to close
            } else {
                listener.drain(Duration.ZERO);
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}

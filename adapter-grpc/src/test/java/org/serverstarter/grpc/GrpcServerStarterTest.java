package org.serverstarter.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.Socket;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
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
import org.serverstarter.adapters.StarterException;
import org.serverstarter.netty.NettyServerStarter.Transport;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Http2Frames;

/**
 * {@link GrpcServerStarter} in this JVM, on listening sockets made here with Netty's native socket calls (so their fd
 * numbers are known) and described in a {@code SERVER_STARTER_PORT} value, as a superdaemon would pass them; a real
 * grpc-java client calls it.
 */
class GrpcServerStarterTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    @BeforeAll
    static void nativeSockets() {
        assumeTrue(Epoll.isAvailable(), "needs Netty's native library to create sockets: " + Epoll.unavailabilityCause());
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    @Timeout(60)
    void servesATcpSocketAndItsDrainLetsTheOpenCallFinish(Transport transport) throws Exception {
        Socket listening = tcpListening();
        int port = listening.localAddress().getPort();
        HoldService service = new HoldService();
        GrpcServerStarter starter = starterFor("127.0.0.1:" + port, listening);
        Server server = listen(starter, transport, service, listening);
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            assertEquals("hello", ClientCalls.blockingUnaryCall(channel, HoldService.ECHO, CallOptions.DEFAULT,
                    "hello"));
            Iterator<String> held = ClientCalls.blockingServerStreamingCall(channel, HoldService.HOLD,
                    CallOptions.DEFAULT.withDeadlineAfter(WAIT.toMillis(), TimeUnit.MILLISECONDS), "across the drain");
            assertEquals("started", held.next());

            CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> starter.drain(WAIT));
            Await.until("the drain to shut the server down", WAIT, server::isShutdown);
            assertFalse(drained.isDone(), "the drain returned while a call was open");
            service.release();
            List<String> rest = new ArrayList<>();
            held.forEachRemaining(rest::add);
            assertEquals(List.of("released"), rest, "the call open at the drain ran to its end");
            assertTrue(drained.get(WAIT.toSeconds(), TimeUnit.SECONDS), "drain: every call finished in time");
            assertTrue(server.isTerminated());
            assertTrue(starter.drain(WAIT), "a second drain returns the first one's result");
        } finally {
            channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    @Timeout(60)
    void servesAUnixSocketAndLeavesItsPathInPlace(Transport transport) throws Exception {
        Path path = dir.resolve("grpc.sock");
        Socket listening = Socket.newSocketDomain();
        listening.bind(new DomainSocketAddress(path.toFile()));
        listening.listen(64);
        GrpcServerStarter starter = starterFor(path.toString(), listening);
        listen(starter, transport, new HoldService(), listening);
        EventLoopGroup clientLoop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(path.toFile()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(clientLoop).usePlaintext().build();
        try {
            assertEquals("over a unix socket", ClientCalls.blockingUnaryCall(channel, HoldService.ECHO,
                    CallOptions.DEFAULT.withDeadlineAfter(WAIT.toMillis(), TimeUnit.MILLISECONDS),
                    "over a unix socket"));
            channel.shutdown().awaitTermination(10, TimeUnit.SECONDS);
            assertTrue(starter.drain(WAIT), "drain");
            assertTrue(Files.exists(path), "the drain deleted " + path);
        } finally {
            channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
            clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * A connection accepted just before the drain closed the listening channel, but not yet handed to the server when
     * the drain begins (its worker loop is busy), still gets the graceful GOAWAY: grpc-netty would close a connection
     * that reaches it after {@code Server.shutdown()} without one, failing the call its client just sent. The worker
     * loops are held until the drain has either queued its wait on them or shut the server down.
     */
    @Test
    @Timeout(60)
    void aConnectionStillBeingHandedToTheServerGetsTheGoAway() throws Exception {
        Socket listening = tcpListening();
        int port = listening.localAddress().getPort();
        GrpcServerStarter starter = starterFor("127.0.0.1:" + port, listening);
        Server server = listen(starter, Transport.EPOLL, new HoldService(), listening);
        List<SingleThreadEventExecutor> loops = new ArrayList<>();
        starter.workers().forEach(loop -> loops.add((SingleThreadEventExecutor) loop));
        CountDownLatch release = new CountDownLatch(1);
        for (SingleThreadEventExecutor loop : loops) {
            loop.execute(() -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        CompletableFuture<Boolean> drained = null;
        try (Http2Frames client = Http2Frames.connect(new InetSocketAddress("127.0.0.1", port), WAIT)) {
            Await.until("the connection's registration to wait on its worker loop", WAIT,
                    () -> pendingTasks(loops) >= 1);
            drained = CompletableFuture.supplyAsync(() -> starter.drain(WAIT));
            // The drain waits on one worker loop at a time, so a second pending task is its wait.
            Await.until("the drain to wait on the worker loops, or to shut the server down", WAIT,
                    () -> pendingTasks(loops) >= 2 || server.isShutdown());
            release.countDown();
            List<Integer> frames = new ArrayList<>();
            try {
                for (Http2Frames.Frame frame = client.read(); frame != null; frame = client.read()) {
                    frames.add(frame.type());
                    if (frame.type() == Http2Frames.PING && !frame.has(Http2Frames.ACK)) {
                        client.pingAck(frame.pingData());
                    }
                }
            } catch (SocketException e) {
                frames.add(-1);
            }
            assertTrue(frames.contains(Http2Frames.GOAWAY),
                    "frame types before the connection closed (-1: reset): " + frames);
        } finally {
            release.countDown();
        }
        assertTrue(drained.get(WAIT.toSeconds(), TimeUnit.SECONDS), "drain");
    }

    private static int pendingTasks(List<SingleThreadEventExecutor> loops) {
        return loops.stream().mapToInt(SingleThreadEventExecutor::pendingTasks).sum();
    }

    @Test
    void withoutASuperdaemonItSaysToBindAPortOfItsOwn() {
        GrpcServerStarter starter = GrpcServerStarter.fromEnvironment(Map.of());
        assertFalse(starter.isPresent());
        IllegalStateException e = assertThrows(IllegalStateException.class, starter::serverBuilder);
        assertEquals("SERVER_STARTER_PORT is not set: not under start_server, so use NettyServerBuilder.forPort "
                + "instead of calling serverBuilder", e.getMessage());
    }

    @Test
    void anEmptyPortListIsRefusedInOneLine() {
        StarterException e = assertThrows(StarterException.class,
                () -> GrpcServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", "")));
        assertEquals("SERVER_STARTER_PORT is set but names no socket: start_server was given no --port and no --path",
                e.getMessage());
    }

    @Test
    void anFdThatDoesNotListenIsRefusedInOneLine() throws IOException {
        Socket bound = Socket.newSocketStream();
        try {
            bound.bind(new InetSocketAddress("127.0.0.1", 0));
            GrpcServerStarter starter = starterFor("127.0.0.1:" + bound.localAddress().getPort(), bound);
            StarterException e = assertThrows(StarterException.class, starter::serverBuilder);
            assertTrue(e.getMessage().contains("fd " + bound.intValue() + " is not a listening stream socket"),
                    e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        } finally {
            bound.close();
        }
    }

    @Test
    @Timeout(60)
    void listenTakesOnlyItsOwnBuilderAndEachVerbOnlyOnce() throws Exception {
        Socket listening = tcpListening();
        GrpcServerStarter starter = starterFor("127.0.0.1:" + listening.localAddress().getPort(), listening);
        assertThrows(IllegalStateException.class, () -> starter.drainOnShutdown(WAIT), "drainOnShutdown before listen");
        NettyServerBuilder builder = starter.serverBuilder().addService(new HoldService().definition());
        assertEquals("GrpcServerStarter.serverBuilder was already called",
                assertThrows(IllegalStateException.class, starter::serverBuilder).getMessage());
        IllegalArgumentException foreign = assertThrows(IllegalArgumentException.class,
                () -> starter.listen(NettyServerBuilder.forPort(0)));
        assertTrue(foreign.getMessage().startsWith("GrpcServerStarter.listen takes the builder that its "
                + "serverBuilder() made"), foreign.getMessage());
        starter.listen(builder);
        assertThrows(IllegalStateException.class, () -> starter.listen(builder), "a second listen");
        assertTrue(starter.drain(WAIT));
    }

    @Test
    @Timeout(60)
    void aBuilderGivenAnotherListenAddressFailsToStartInOneLine() throws Exception {
        Socket listening = tcpListening();
        GrpcServerStarter starter = starterFor("127.0.0.1:" + listening.localAddress().getPort(), listening);
        NettyServerBuilder builder = starter.serverBuilder().addService(new HoldService().definition())
                .addListenAddress(new InetSocketAddress("127.0.0.1", 0));
        StarterException e = assertThrows(StarterException.class, () -> starter.listen(builder));
        assertTrue(e.getMessage().startsWith("cannot start the gRPC server on [127.0.0.1:"), e.getMessage());
        assertTrue(e.getMessage().endsWith(": grpc-netty asked for 2 server channel(s) for 1 inherited socket(s): keep "
                + "the listen addresses, channel type and factory of the builder from "
                + "GrpcServerStarter.serverBuilder(), and start it once"),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    private static Server listen(GrpcServerStarter starter, Transport transport, HoldService service,
            Socket listening) throws IOException {
        try {
            return starter.listen(starter.serverBuilder(null, transport).addService(service.definition()));
        } catch (RuntimeException e) {
            listening.close();
            throw e;
        }
    }

    private static Socket tcpListening() throws IOException {
        Socket listening = Socket.newSocketStream();
        listening.bind(new InetSocketAddress("127.0.0.1", 0));
        listening.listen(64);
        return listening;
    }

    /** A starter for {@code socket}, described as a superdaemon would: {@code key=fd}. */
    private static GrpcServerStarter starterFor(String key, Socket socket) {
        return GrpcServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", key + "=" + socket.intValue()));
    }
}

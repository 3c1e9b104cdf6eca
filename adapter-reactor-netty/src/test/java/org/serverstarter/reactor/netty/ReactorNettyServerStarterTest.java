package org.serverstarter.reactor.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Http2Frames;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.DisposableServer;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.LoopResources;

/**
 * {@link ReactorNettyServerStarter} in this JVM, on listening sockets made here with Netty's native socket calls (so
 * their fd numbers are known) and described in a {@code SERVER_STARTER_PORT} value, as a superdaemon would pass them.
 * Parameterised cases run on epoll ({@code true}: Reactor Netty's preferred native transport) and on NIO.
 */
class ReactorNettyServerStarterTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private final LoopResources loops = LoopResources.create("test", 1, 2, true);
    private final List<Socket> notAdopted = new ArrayList<>();
    private ReactorNettyServerStarter starter;
    private final CountDownLatch held = new CountDownLatch(1);
    private final Sinks.Empty<Void> release = Sinks.empty();

    @BeforeAll
    static void nativeSockets() {
        assumeTrue(Epoll.isAvailable(), "needs Netty's native library to create sockets: " + Epoll.unavailabilityCause());
    }

    @AfterEach
    void stop() throws IOException {
        release.tryEmitEmpty();
        if (starter != null) {
            starter.drain(Duration.ZERO);
        }
        for (Socket socket : notAdopted) {
            socket.close();
        }
        loops.disposeLater(Duration.ZERO, Duration.ofSeconds(5)).block();
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    @Timeout(60)
    void servesATcpSocketAndDrainsAKeepAliveConnection(boolean preferNative) throws Exception {
        InetSocketAddress address = starterOnTcp();
        List<DisposableServer> servers = starter.bind(server(preferNative));
        assertEquals(1, servers.size());
        assertEquals(preferNative ? "EpollServerSocketChannel" : "NioServerSocketChannel",
                servers.get(0).channel().getClass().getSimpleName());
        assertEquals(address.getPort(), servers.get(0).port());
        try (HttpConnection keepAlive = HttpConnection.open(address)) {
            assertAnswers(keepAlive);
            CompletableFuture<Boolean> drained = drainInBackground();
            // The drain waits for this connection; its next answer tells the client to go away.
            HttpResponse last = keepAlive.get("/");
            assertEquals(200, last.status());
            assertEquals("close", last.header("connection"));
            assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ran into its deadline");
        }
        assertFalse(servers.get(0).channel().isOpen());
    }

    /**
     * A keep-alive client whose next request arrives before the server has ended the previous exchange (here, two
     * requests sent back to back) is read again after those are answered. Reactor Netty 1.3.6 stops reading such a
     * connection (reactor-netty#4347): the third request would wait unanswered until the connection is closed.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    @Timeout(60)
    void aConnectionWhoseRequestsOverlappedTheirExchangesIsReadAgain(boolean preferNative) throws Exception {
        InetSocketAddress address = starterOnTcp();
        starter.bind(server(preferNative));
        try (HttpConnection keepAlive = HttpConnection.open(address)) {
            keepAlive.send("/later");
            keepAlive.send("/");
            assertEquals("later\n", keepAlive.read().body());
            assertEquals("hello\n", keepAlive.read().body());
            keepAlive.send("/");
            assertEquals("hello\n", keepAlive.read().body(), "the request after the two");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    @Timeout(60)
    void servesAUnixSocketAndLeavesItsPathInPlace(boolean preferNative) throws Exception {
        Path path = dir.resolve("app.sock");
        Socket listening = Socket.newSocketDomain();
        listening.bind(new DomainSocketAddress(path.toFile()));
        listening.listen(64);
        starter = starterFor(listening, path.toString());
        DisposableServer server = starter.bind(server(preferNative)).get(0);
        // An app logging its listeners looks their addresses up, after which Netty's own NIO unix channel would
        // delete the path on close.
        assertTrue(server.channel().toString().startsWith("[id: "), server.channel().toString());
        try (HttpConnection keepAlive = HttpConnection.open(path)) {
            assertAnswers(keepAlive);
            CompletableFuture<Boolean> drained = drainInBackground();
            assertEquals("close", keepAlive.get("/").header("connection"));
            assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ran into its deadline");
        }
        assertTrue(Files.exists(path), "the drain deleted " + path);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    @Timeout(60)
    void aRequestInFlightIsAnsweredBeforeTheDrainEnds(boolean preferNative) throws Exception {
        InetSocketAddress address = starterOnTcp();
        DisposableServer server = starter.bind(server(preferNative)).get(0);
        try (HttpConnection inFlight = HttpConnection.open(address)) {
            inFlight.send("/hold");
            assertTrue(held.await(30, TimeUnit.SECONDS), "the request never reached the handler");
            CompletableFuture<Boolean> drained = drainInBackground();
            Await.until("the server channel to close", WAIT, () -> !server.channel().isOpen());
            assertFalse(drained.isDone(), "the drain ended with a request in flight");
            release.tryEmitEmpty();
            HttpResponse answer = inFlight.read();
            assertEquals(200, answer.status());
            assertEquals("held\n", answer.body());
            assertEquals("close", answer.header("connection"));
            assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ran into its deadline");
        }
    }

    /**
     * During the spread a connection whose moment has not come is served on as usual, request after request; here the
     * spread is so long that no moment comes.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    @Timeout(60)
    void duringTheSpreadAKeepAliveConnectionIsServedOn(boolean preferNative) throws Exception {
        InetSocketAddress address = starterOnTcp();
        starter.bind(server(preferNative));
        try (HttpConnection keepAlive = HttpConnection.open(address)) {
            assertAnswers(keepAlive);
            CompletableFuture.runAsync(() -> starter.drain(Duration.ofSeconds(30), Duration.ofDays(1)));
            Await.until("draining", WAIT, starter::isDraining);
            for (int i = 0; i < 3; i++) {
                assertAnswers(keepAlive);
            }
        }
    }

    @Test
    @Timeout(60)
    void atTheDeadlineTheDrainClosesIdleConnections() throws Exception {
        InetSocketAddress address = starterOnTcp();
        starter.bind(server(true));
        try (HttpConnection idle = HttpConnection.open(address)) {
            assertAnswers(idle);
            assertFalse(starter.drain(Duration.ofMillis(300)), "an idle keep-alive connection let the drain end");
            assertThrows(IOException.class, idle::read, "the server kept the idle connection open");
        }
    }

    /**
     * An H2C connection gets the two-step GOAWAY (2147483647, then the last stream taken), a stream the client opens
     * between the two is answered, and the connection closes after it, so the drain ends before its deadline. Before,
     * HTTP/2 connections were told nothing and held the drain until its deadline.
     */
    @Test
    @Timeout(60)
    void drainsAnH2cConnectionWithTwoGoAways() throws Exception {
        InetSocketAddress address = starterOnTcp();
        starter.bind(server(true).protocol(HttpProtocol.H2C));
        try (Http2Frames client = Http2Frames.connect(address, WAIT)) {
            client.get(1, "/");
            assertEquals("HEADERS stream 1", client.read().toString());
            assertEquals("DATA stream 1 end", client.read().toString());
            CompletableFuture<Boolean> drained = drainInBackground();
            assertEquals("GOAWAY(" + Integer.MAX_VALUE + ") stream 0", client.read().toString());
            client.get(3, "/hold");
            assertTrue(held.await(30, TimeUnit.SECONDS), "the stream sent after the first GOAWAY was not taken");
            assertEquals("GOAWAY(3) stream 0", client.read().toString());
            release.tryEmitEmpty();
            List<String> rest = new ArrayList<>();
            for (Http2Frames.Frame frame = client.read(); frame != null; frame = client.read()) {
                rest.add(frame.toString());
            }
            // The body's frames vary with Reactor Netty's flushes; the answer is complete when its stream ended.
            assertTrue(rest.size() >= 2 && rest.get(0).equals("HEADERS stream 3")
                    && rest.get(rest.size() - 1).equals("DATA stream 3 end"), "the held stream's answer, then the "
                    + "connection's close: " + rest);
            assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ran into its deadline");
        }
    }

    /**
     * What a framework that binds the server itself (Spring Boot) does: adopt one entry and bind the result, then
     * serve the other entries with the same handler. One drain covers both.
     */
    @Test
    @Timeout(60)
    void anAdoptedServerBoundByItsFrameworkAndTheRestBoundByTheStarter() throws Exception {
        Socket first = tcpListening();
        Socket second = tcpListening();
        InetSocketAddress firstAddress = addressOf(first);
        InetSocketAddress secondAddress = addressOf(second);
        starter = ReactorNettyServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT",
                "127.0.0.1:" + firstAddress.getPort() + "=" + first.intValue() + ";127.0.0.1:"
                        + secondAddress.getPort() + "=" + second.intValue()));
        notAdopted.removeAll(List.of(first, second));
        List<InheritedSocket> sockets = starter.sockets();
        DisposableServer byFramework = starter.adopt(server(true), sockets.get(0)).bindNow();
        List<DisposableServer> rest = starter.bind(server(true), sockets.subList(1, 2));
        assertEquals(secondAddress.getPort(), rest.get(0).port());
        try (HttpConnection one = HttpConnection.open(firstAddress);
             HttpConnection two = HttpConnection.open(secondAddress)) {
            assertAnswers(one);
            assertAnswers(two);
            CompletableFuture<Boolean> drained = drainInBackground();
            assertEquals("close", one.get("/").header("connection"));
            assertEquals("close", two.get("/").header("connection"));
            assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ran into its deadline");
        }
        assertFalse(byFramework.channel().isOpen());
    }

    @Test
    @Timeout(60)
    void aSocketIsAdoptedOnceAndAnAdoptingServerBoundOnce() throws Exception {
        Socket listening = tcpListening();
        starter = starterFor(listening, "127.0.0.1:" + addressOf(listening).getPort());
        InheritedSocket socket = starter.sockets().get(0);
        HttpServer adopting = starter.adopt(server(true), socket);
        IllegalStateException twice = assertThrows(IllegalStateException.class,
                () -> starter.adopt(server(true), socket));
        assertEquals(socket + " was adopted already", twice.getMessage());
        assertThrows(IllegalArgumentException.class, () -> starter.adopt(adopting, socket));
        adopting.bindNow();
        assertThrows(RuntimeException.class, adopting::bindNow, "a second bind of one adopted socket");
        InheritedSocket stranger = ServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", "127.0.0.1:1=999"))
                .sockets().get(0);
        assertThrows(IllegalArgumentException.class, () -> starter.adopt(server(true), stranger));
    }

    @Test
    void notUnderASuperdaemon() {
        ReactorNettyServerStarter none = ReactorNettyServerStarter.fromEnvironment(Map.of());
        assertFalse(none.isPresent());
        assertEquals(List.of(), none.sockets());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> none.bind(server(true)));
        assertEquals("SERVER_STARTER_PORT is not set: not under start_server, so bind a port of your own instead "
                + "of calling bind", e.getMessage());
    }

    /** A server answering {@code GET /} with {@code hello}, and {@code GET /hold} once the test releases it. */
    private HttpServer server(boolean preferNative) {
        return HttpServer.create().runOn(loops, preferNative).route(routes -> routes
                .get("/", (request, response) -> response.sendString(Mono.just("hello\n")))
                .get("/later", (request, response) ->
                        response.sendString(Mono.delay(Duration.ofMillis(50)).thenReturn("later\n")))
                .get("/hold", (request, response) -> {
                    held.countDown();
                    return release.asMono().then(response.sendString(Mono.just("held\n")).then());
                }));
    }

    private CompletableFuture<Boolean> drainInBackground() {
        CompletableFuture<Boolean> drained =
                CompletableFuture.supplyAsync(() -> starter.drain(Duration.ofSeconds(30), Duration.ZERO));
        Await.until("draining", WAIT, starter::isDraining);
        return drained;
    }

    private static void assertAnswers(HttpConnection connection) throws IOException {
        HttpResponse first = connection.get("/");
        assertEquals(200, first.status());
        assertEquals("hello\n", first.body());
        assertFalse(connection.isClosedByServer());
    }

    /** A listening TCP socket on loopback, and {@link #starter} for it; returns its address. */
    private InetSocketAddress starterOnTcp() throws IOException {
        Socket listening = tcpListening();
        InetSocketAddress address = addressOf(listening);
        starter = starterFor(listening, "127.0.0.1:" + address.getPort());
        return address;
    }

    private Socket tcpListening() throws IOException {
        Socket listening = Socket.newSocketStream();
        listening.bind(new InetSocketAddress("127.0.0.1", 0));
        listening.listen(64);
        notAdopted.add(listening);
        return listening;
    }

    private static InetSocketAddress addressOf(Socket listening) throws IOException {
        return new InetSocketAddress("127.0.0.1", listening.localAddress().getPort());
    }

    /** A starter for {@code listening}, described as a superdaemon would: {@code key=fd}. */
    private ReactorNettyServerStarter starterFor(Socket listening, String key) {
        notAdopted.remove(listening);
        return ReactorNettyServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", key + "=" + listening.intValue()));
    }
}

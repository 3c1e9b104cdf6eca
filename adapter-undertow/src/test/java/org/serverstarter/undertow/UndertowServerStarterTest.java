package org.serverstarter.undertow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.KeepAliveClients;
import org.serverstarter.testkit.Ports;

/**
 * The listener in-process, on a channel this test binds itself: serving through XNIO's acceptor built around a
 * foreign channel, and the drain sequence of {@link UndertowServerStarter#drain}. Adopting inherited fds is covered by
 * {@code UndertowContractIT}.
 */
@Timeout(60)
class UndertowServerStarterTest {
    private final CountDownLatch slowEntered = new CountDownLatch(1);
    private final CountDownLatch releaseSlow = new CountDownLatch(1);
    private final HttpHandler app = exchange -> {
        if (exchange.getRequestPath().equals("/slow")) {
            exchange.dispatch(() -> answerSlowly(exchange));
        } else {
            exchange.getResponseSender().send("hello");
        }
    };

    private ServerSocketChannel channel;
    private InetSocketAddress address;
    private UndertowServerStarter listener;
    private Undertow server;

    @BeforeEach
    void bindAndServe() throws IOException {
        channel = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        address = (InetSocketAddress) channel.getLocalAddress();
        listener = UndertowServerStarter.fromEnvironment(Map.of());
        server = listener.serve(List.of(channel), Undertow.builder().setHandler(app), null);
    }

    @AfterEach
    void stop() throws IOException {
        releaseSlow.countDown();
        listener.drain(Duration.ofSeconds(5));
        server.stop();
        channel.close();
    }

    @Test
    void servesOnAChannelXnioDidNotOpen() throws IOException {
        assertEquals(List.of(address), listener.addresses());
        try (HttpConnection c = HttpConnection.open(address)) {
            HttpResponse first = c.get("/");
            HttpResponse second = c.get("/");
            assertEquals(200, first.status());
            assertEquals("hello", second.body());
            assertFalse(c.isClosedByServer(), "responses before a drain keep the connection alive");
        }
    }

    @Test
    void drainClosesTheAcceptorFinishesInFlightAndClosesKeptAliveConnections() throws Exception {
        CompletableFuture<Boolean> stopped;
        try (HttpConnection idle = HttpConnection.open(address); HttpConnection slow = HttpConnection.open(address)) {
            assertEquals(200, idle.get("/").status());
            slow.send("/slow");
            assertTrue(slowEntered.await(30, TimeUnit.SECONDS), "slow request reached the handler");

            stopped = CompletableFuture.supplyAsync(() -> listener.drain(Duration.ofSeconds(30), Duration.ZERO));
            // Our channel was the socket's only fd here, so once it is closed connecting is refused.
            Await.until("the acceptor to close", Duration.ofSeconds(10), () -> Ports.refuses(address));

            HttpResponse onKeptAlive = idle.get("/");
            assertEquals(200, onKeptAlive.status(), "a kept-alive connection is served, not answered with 503");
            assertEquals("close", onKeptAlive.header("connection"));
            assertFalse(stopped.isDone(), "stop waits for the slow exchange");

            releaseSlow.countDown();
            HttpResponse slowResponse = slow.read();
            assertEquals(200, slowResponse.status());
            assertEquals("slow done", slowResponse.body());
            assertEquals("close", slowResponse.header("connection"),
                    "a response committed after the drain began closes its connection too");
        }
        // The clients closed both connections after their Connection: close answers, as HTTP clients do.
        assertTrue(stopped.get(30, TimeUnit.SECONDS), "every connection closed within the drain timeout");
    }

    /**
     * The old drain closed idle keep-alive connections after a quiet second, under the request a client might be
     * sending just then. Now such a connection stays open and is served, and the drain ends when its client closes
     * it. Only the absence of a stop can show the first part; 1.5 s is longer than the old quiet second.
     */
    @Test
    void anIdleKeepAliveConnectionIsServedUntilItsClientClosesIt() throws Exception {
        CompletableFuture<Boolean> stopped;
        try (HttpConnection idle = HttpConnection.open(address)) {
            assertEquals(200, idle.get("/").status());
            stopped = CompletableFuture.supplyAsync(() -> listener.drain(Duration.ofSeconds(30), Duration.ZERO));
            Await.until("the acceptor to close", Duration.ofSeconds(10), () -> Ports.refuses(address));
            assertThrows(TimeoutException.class, () -> stopped.get(1500, TimeUnit.MILLISECONDS),
                    "stop returned with an idle keep-alive connection open");

            HttpResponse late = idle.get("/");
            assertEquals(200, late.status(), "the idle connection was still served");
            assertEquals("close", late.header("connection"));
        }
        assertTrue(stopped.get(30, TimeUnit.SECONDS), "the drain ended once the client closed its connection");
    }

    /**
     * With a spread, kept-alive connections are told to close over it, not all at their next response; a client that
     * keeps sending on its connection is served until it is told, and none is lost.
     */
    @Test
    void theClosesAreSpreadOverTheSpread() throws Exception {
        try (KeepAliveClients clients = KeepAliveClients.open(address, 20)) {
            CompletableFuture<Boolean> stopped =
                    CompletableFuture.supplyAsync(() -> listener.drain(Duration.ofSeconds(30), Duration.ofSeconds(3)));
            Await.until("the acceptor to close", Duration.ofSeconds(10), () -> Ports.refuses(address));
            // Sent well within the first second, so each response closes with a chance of about 1 in 3 at most.
            clients.assertToldToCloseOverTheSpread(Duration.ofSeconds(20));
            assertTrue(stopped.get(30, TimeUnit.SECONDS), "the drain ended once every client had closed");
        }
    }

    @Test
    void stopGivesUpAtTheDeadlineAndReportsIt() throws Exception {
        try (HttpConnection slow = HttpConnection.open(address)) {
            slow.send("/slow");
            assertTrue(slowEntered.await(30, TimeUnit.SECONDS), "slow request reached the handler");
            assertFalse(listener.drain(Duration.ofMillis(200)), "an exchange was still running at the deadline");
        }
    }

    @Test
    void aClientHangingUpMidRequestDoesNotHoldTheDrain() throws Exception {
        try (HttpConnection slow = HttpConnection.open(address)) {
            slow.send("/slow");
            assertTrue(slowEntered.await(30, TimeUnit.SECONDS), "slow request reached the handler");
        }
        releaseSlow.countDown();
        assertTrue(listener.drain(Duration.ofSeconds(20)), "the abandoned exchange still counted as finished");
    }

    private void answerSlowly(HttpServerExchange exchange) {
        slowEntered.countDown();
        try {
            releaseSlow.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        exchange.getResponseSender().send("slow done");
    }
}

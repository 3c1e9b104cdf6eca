package org.serverstarter.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.SocketFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The warm-up's client side, against the JDK's HTTP server on loopback. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WarmUpTest {
    static {
        // The JDK server writes a response's head and body apart; without this, Nagle's algorithm and the client's
        // delayed ACK hold each body back some 40 ms.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    @Test
    void sendsEveryRequestOverKeepAliveConnections() throws Exception {
        AtomicInteger requests = new AtomicInteger();
        Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
        HttpServer server = server(200, exchange -> {
            requests.incrementAndGet();
            clientPorts.add(exchange.getRemoteAddress().getPort());
        });
        try {
            WarmUp.send(server.getAddress(), SocketFactory.getDefault(), WarmUp.REQUESTS_PER_CONNECTION);
        } finally {
            server.stop(0);
        }
        assertEquals(WarmUp.REQUESTS, requests.get());
        assertEquals(WarmUp.REQUESTS / WarmUp.REQUESTS_PER_CONNECTION, clientPorts.size(), "connections used");
    }

    @Test
    void aResponseOtherThan200FailsTheWarmUp() throws Exception {
        HttpServer server = server(503, exchange -> { });
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> WarmUp.send(server.getAddress(), SocketFactory.getDefault(), WarmUp.REQUESTS_PER_CONNECTION));
            assertTrue(e.getMessage().contains("503"), e.getMessage());
        } finally {
            server.stop(0);
        }
    }

    private interface Observer {
        void saw(HttpExchange exchange);
    }

    private static HttpServer server(int status, Observer observer) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.createContext("/", exchange -> {
            observer.saw(exchange);
            byte[] body = "warm\n".getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }
}

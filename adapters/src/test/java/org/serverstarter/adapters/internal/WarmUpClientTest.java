package org.serverstarter.adapters.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The warm-up's client side, against the JDK's HTTP server on loopback. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WarmUpClientTest {
    static {
        // The JDK server writes a response's head and body apart; without this, Nagle's algorithm and the client's
        // delayed ACK hold each body back some 40 ms.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    @Test
    void sendsEveryRequestOverKeepAliveConnections() throws Exception {
        List<String> paths = new CopyOnWriteArrayList<>();
        Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
        HttpServer server = server(exchange -> {
            paths.add(exchange.getRequestURI().toString());
            clientPorts.add(exchange.getRemoteAddress().getPort());
            respond(exchange, 200, "warm\n".length());
        });
        try {
            new WarmUpClient("/warm?up=1", 3_000, 10).send(server.getAddress());
        } finally {
            server.stop(0);
        }
        assertEquals(3_000, paths.size());
        assertTrue(paths.stream().allMatch("/warm?up=1"::equals), paths.get(0));
        assertEquals(300, clientPorts.size(), "connections used");
    }

    @Test
    void readsChunkedBodiesAndReconnectsWhenTheServerCloses() throws Exception {
        Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
        HttpServer chunked = server(exchange -> {
            clientPorts.add(exchange.getRemoteAddress().getPort());
            respond(exchange, 200, 0); // 0: the JDK server sends the body chunked
        });
        try {
            new WarmUpClient("/", 20, 10).send(chunked.getAddress());
        } finally {
            chunked.stop(0);
        }
        assertEquals(2, clientPorts.size(), "connections used for chunked answers");

        clientPorts.clear();
        HttpServer closing = server(exchange -> {
            clientPorts.add(exchange.getRemoteAddress().getPort());
            exchange.getResponseHeaders().set("Connection", "close");
            respond(exchange, 200, "warm\n".length());
        });
        try {
            new WarmUpClient("/", 5, 10).send(closing.getAddress());
        } finally {
            closing.stop(0);
        }
        assertEquals(5, clientPorts.size(), "connections used when each answer closes its connection");
    }

    @Test
    void aResponseOtherThan2xxFailsTheWarmUpInOneLine() throws Exception {
        HttpServer server = server(exchange -> respond(exchange, 404, "warm\n".length()));
        try {
            WarmUpClient.Failure e = assertThrows(WarmUpClient.Failure.class,
                    () -> new WarmUpClient("/missing", 3_000, 10).send(server.getAddress()));
            assertEquals("warm-up request 1 of 3000, GET /missing on 127.0.0.1:" + server.getAddress().getPort()
                    + ", answered HTTP/1.1 404 Not Found", e.getMessage());
        } finally {
            server.stop(0);
        }
    }

    @Test
    void theListenerIsClosedAlsoWhenTheWarmUpFails() throws Exception {
        HttpServer server = server(exchange -> respond(exchange, 500, "warm\n".length()));
        AtomicBoolean closed = new AtomicBoolean();
        try {
            WarmUpClient.Failure e = assertThrows(WarmUpClient.Failure.class,
                    () -> new WarmUpClient("/", 10, 10).warmUp(new WarmUpClient.Port() {
                        @Override
                        public InetSocketAddress open() {
                            return server.getAddress();
                        }

                        @Override
                        public void close() {
                            closed.set(true);
                        }
                    }));
            assertTrue(e.getMessage().endsWith("answered HTTP/1.1 500 Internal Server Error"), e.getMessage());
        } finally {
            server.stop(0);
        }
        assertTrue(closed.get());
    }

    @Test
    void aRefusedConnectionFailsTheWarmUp() throws Exception {
        HttpServer server = server(exchange -> respond(exchange, 200, "warm\n".length()));
        InetSocketAddress gone = server.getAddress();
        server.stop(0);
        WarmUpClient.Failure e = assertThrows(WarmUpClient.Failure.class,
                () -> new WarmUpClient("/", 10, 10).send(gone));
        assertTrue(e.getMessage().startsWith("warm-up request 1 of 10, GET / on 127.0.0.1:" + gone.getPort()
                + ", failed: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void refusesSettingsThatCannotMakeARequest() {
        assertThrows(IllegalArgumentException.class, () -> new WarmUpClient("warm", 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new WarmUpClient("/a b", 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new WarmUpClient("/a\r\nX: y", 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new WarmUpClient("/", -1, 1));
        assertThrows(IllegalArgumentException.class, () -> new WarmUpClient("/", 1, 0));
    }

    private interface Handler {
        void handle(HttpExchange exchange) throws IOException;
    }

    private static void respond(HttpExchange exchange, int status, long length) throws IOException {
        exchange.sendResponseHeaders(status, length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write("warm\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    private static HttpServer server(Handler handler) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.createContext("/", handler::handle);
        server.start();
        return server;
    }
}

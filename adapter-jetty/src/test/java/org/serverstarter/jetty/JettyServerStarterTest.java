package org.serverstarter.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.adapters.internal.Libc;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Curl;
import org.serverstarter.testkit.Http2Frames;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Stderr;

/**
 * {@link JettyServerStarter} in this JVM, on a TCP and a unix socket that the test binds itself and hands over as a
 * superdaemon would: a duplicate of each listening fd, named in a {@code SERVER_STARTER_PORT} value. The test closes
 * its own fds at once, so the adapter's are the only ones and connecting is refused once it stops accepting.
 * (Shutdown hooks need a JVM that exits: {@code JettyServerStarterIT}.)
 */
@Timeout(60)
class JettyServerStarterTest {
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private final CountDownLatch holdEntered = new CountDownLatch(1);
    private final CountDownLatch releaseHold = new CountDownLatch(1);
    private InetSocketAddress tcp;
    private Path unix;
    private JettyServerStarter starter;
    private Server server;

    @BeforeEach
    void listen() throws Exception {
        String tcpEntry;
        String unixEntry;
        try (ServerSocketChannel tcpChannel = ServerSocketChannel.open();
             ServerSocketChannel unixChannel = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            tcp = (InetSocketAddress) tcpChannel.bind(new InetSocketAddress("127.0.0.1", 0)).getLocalAddress();
            unix = dir.resolve("app.sock");
            unixChannel.bind(UnixDomainSocketAddress.of(unix));
            tcpEntry = "127.0.0.1:" + tcp.getPort() + "=" + duplicate(tcpChannel);
            unixEntry = unix + "=" + duplicate(unixChannel);
        }
        starter = JettyServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", tcpEntry + ";" + unixEntry));
        server = new Server();
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                if (request.getHttpURI().getPath().equals("/hold")) {
                    holdEntered.countDown();
                    releaseHold.await(WAIT.toSeconds(), TimeUnit.SECONDS);
                }
                response.write(true, StandardCharsets.UTF_8.encode("hello"), callback);
                return true;
            }
        });
        HttpConfiguration config = new HttpConfiguration();
        starter.listen(server, socket -> List.of(new HttpConnectionFactory(config),
                new HTTP2CServerConnectionFactory(config)));
        server.start();
    }

    @AfterEach
    void stop() throws Exception {
        releaseHold.countDown();
        server.setStopTimeout(0);
        server.stop();
    }

    @Test
    void servesATcpAndAUnixSocketAndLeavesTheSocketFile() throws Exception {
        for (HttpConnection c : List.of(HttpConnection.open(tcp), HttpConnection.open(unix))) {
            try (c) {
                assertEquals("hello", ok(c.get("/")));
                assertEquals("hello", ok(c.get("/")));
                assertFalse(c.isClosedByServer(), "keep-alive before a drain");
            }
        }
        server.stop();
        assertTrue(Files.exists(unix), "stopping removed " + unix);
    }

    /**
     * {@code server.stop()} drains: it stops accepting at once, then serves the open connections, telling each to
     * close, and returns only once the request in flight has finished and its clients closed both connections.
     */
    @Test
    void stopFinishesTheRequestInFlightAndClosesKeepAliveConnections() throws Exception {
        try (HttpConnection idle = HttpConnection.open(tcp); HttpConnection inFlight = HttpConnection.open(unix)) {
            assertEquals("hello", ok(idle.get("/")));
            inFlight.send("/hold");
            assertTrue(holdEntered.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the held request reached the app");

            server.setStopTimeout(WAIT.toMillis());
            CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> {
                try {
                    server.stop();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Await.until("the adapter to stop accepting", WAIT, () -> Ports.refuses(tcp));
            untilToldToClose(idle);
            assertFalse(stopped.isDone(), "stop returned with a request in flight");

            releaseHold.countDown();
            assertEquals("hello", ok(inFlight.read()), "the request in flight when stop began");
            untilToldToClose(inFlight);
            idle.close();
            inFlight.close();
            stopped.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }
        assertTrue(server.isStopped());
    }

    /** h2c beside HTTP/1.1 on the inherited socket, as curl speaks it: with prior knowledge, and by upgrade. */
    @Test
    void servesH2cToCurl() throws Exception {
        String url = "http://127.0.0.1:" + tcp.getPort() + "/";
        assertEquals("2 hello", Curl.versionAndBody(url, "--http2-prior-knowledge"));
        assertEquals("2 hello", Curl.versionAndBody(url, "--http2"));
        assertEquals("1.1 hello", Curl.versionAndBody(url, "--http1.1"));
    }

    /**
     * A client busy on an HTTP/2 connection may write a new stream before it has read the drain's first GOAWAY. The
     * adapter sends a PING with that GOAWAY and lets Jetty send its final GOAWAY only once the client has answered it,
     * so such a stream is served and the final GOAWAY names it. (Jetty alone sends the final GOAWAY as soon as the
     * session has no stream open, naming stream 1 here, and the new stream goes unanswered.)
     */
    @Test
    void anHttp2StreamWrittenBeforeTheClientReadTheFirstGoAwayIsServed() throws Exception {
        try (Http2Frames client = http2ClientServedOnce()) {
            CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> starter.drain(WAIT));
            Http2Frames.Frame first = client.next(Http2Frames::isGoAway);
            assertEquals(Integer.MAX_VALUE, first.lastStreamId(), "the first GOAWAY");
            // Written before reading on: the PING the adapter sent behind the GOAWAY is answered after this stream.
            client.get(3, "/");
            Http2Frames.Frame answer = client.next(Http2Frames.answerTo(3).or(Http2Frames::isFinalGoAway));
            assertEquals(Http2Frames.HEADERS, answer.type(), "stream 3, written after the first GOAWAY: " + answer);
            Http2Frames.Frame last = client.next(Http2Frames::isFinalGoAway);
            assertEquals(3, last.lastStreamId(), "the final GOAWAY names the last stream served");
            client.close();
            assertTrue(drained.get(WAIT.toSeconds(), TimeUnit.SECONDS), "the drain ends once the client closed");
        }
    }

    /**
     * Jetty keeps a connection open after its final GOAWAY until the client closes it or its idle timeout passes; the
     * adapter closes it itself, so a client that stays connected and idle does not hold the drain.
     */
    @Test
    void anIdleHttp2ConnectionIsClosedAfterTheFinalGoAway() throws Exception {
        try (Http2Frames client = http2ClientServedOnce()) {
            CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> starter.drain(WAIT));
            assertEquals(1, client.next(Http2Frames::isFinalGoAway).lastStreamId(), "the final GOAWAY");
            // Jetty's idle timeout (30 s) is the drain's own: before the adapter closed the connection, this waited.
            assertTrue(drained.get(WAIT.toSeconds() / 3, TimeUnit.SECONDS), "the drain ends with the connection");
            assertEquals(null, client.read(), "the server closed the connection");
        }
    }

    /** A client that closes its connection on the first GOAWAY answers no PING, and is not waited for. */
    @Test
    void aClientThatClosesOnTheFirstGoAwayIsNotWaitedFor() throws Exception {
        try (Http2Frames client = http2ClientServedOnce()) {
            CompletableFuture<Void> closesOnGoAway = CompletableFuture.runAsync(() -> {
                try {
                    client.next(Http2Frames::isGoAway);
                    client.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            String stderr = Stderr.of(() -> assertTrue(starter.drain(WAIT)));
            closesOnGoAway.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            // Before, the drain waited for the PING's answer for 5 s and then blamed the client for its silence.
            assertEquals("", stderr);
        }
    }

    /** At its deadline the drain gives up, returns false and says what was left in one line. */
    @Test
    void drainGivesUpAtTheDeadlineAndSaysSoInOneLine() throws Exception {
        try (HttpConnection idle = HttpConnection.open(tcp)) {
            assertEquals("hello", ok(idle.get("/")));
            String stderr = Stderr.of(() -> assertFalse(starter.drain(Duration.ofMillis(300))));
            assertEquals("JettyServerStarter: 1 connection(s) still open, 0 request(s) running, after 300 ms; "
                    + "stopping anyway\n", stderr);
            assertFalse(starter.drain(Duration.ofSeconds(5)), "a second drain returns the first one's result");
            server.stop();
            assertThrows(IOException.class, idle::read, "stop closed the idle connection, with no response");
        }
    }

    @Test
    void listenIsRefusedWithoutASuperdaemonTwiceOrAfterStart() {
        IllegalStateException without = assertThrows(IllegalStateException.class,
                () -> JettyServerStarter.fromEnvironment(Map.of()).listen(new Server()));
        assertEquals("SERVER_STARTER_PORT is not set: not under start_server, so bind a port of your own instead of "
                + "calling listen", without.getMessage());
        assertEquals("JettyServerStarter.listen was already called",
                assertThrows(IllegalStateException.class, () -> starter.listen(new Server())).getMessage());
        JettyServerStarter other = JettyServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", "127.0.0.1:1=99"));
        assertEquals("JettyServerStarter.listen must be called before server.start()",
                assertThrows(IllegalStateException.class, () -> other.listen(server)).getMessage());
    }

    /**
     * A close-on-exec duplicate of the channel's fd, as an inherited fd is another process's duplicate. The JDK
     * does not tell a channel's fd number, so it is read from its implementation class (the adapter needs
     * {@code --add-opens} for sun.nio.ch anyway).
     */
    private static int duplicate(ServerSocketChannel channel) throws Exception {
        Method fdVal = Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal");
        fdVal.setAccessible(true);
        int fd = Libc.get().fcntl((int) fdVal.invoke(channel), F_DUPFD_CLOEXEC, 3);
        assertTrue(fd >= 0, "fcntl(F_DUPFD_CLOEXEC): " + Libc.lastError());
        return fd;
    }

    /** An HTTP/2 connection on which stream 1 has been answered. */
    private Http2Frames http2ClientServedOnce() throws IOException {
        Http2Frames client = Http2Frames.connect(tcp, WAIT);
        client.get(1, "/");
        assertEquals(Http2Frames.HEADERS, client.next(Http2Frames.answerTo(1)).type(), "stream 1 answered");
        return client;
    }

    private static void untilToldToClose(HttpConnection connection) {
        Await.until("an answer with Connection: close", WAIT, () -> {
            if (connection.isClosedByServer()) {
                return true;
            }
            try {
                assertEquals("hello", ok(connection.get("/")));
            } catch (IOException e) {
                throw new AssertionError("a kept-alive connection to the draining server failed", e);
            }
            return connection.isClosedByServer();
        });
    }

    private static String ok(HttpResponse response) {
        assertEquals(200, response.status(), response.toString());
        return response.body();
    }
}

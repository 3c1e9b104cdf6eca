package org.serverstarter.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.LifecycleState;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.core.StandardContext;
import org.apache.catalina.startup.Tomcat;
import org.apache.coyote.AbstractProtocol;
import org.apache.coyote.http2.Http2Protocol;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.serverstarter.adapters.internal.Libc;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Curl;
import org.serverstarter.testkit.Http2Frames;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.KeepAliveClients;
import org.serverstarter.testkit.Stderr;
import org.serverstarter.testkit.TestCertificate;

/**
 * {@link TomcatServerStarter} in this JVM, as a superdaemon's worker: the test binds a listening socket (the
 * superdaemon's copy, which it keeps) and passes a duplicate of its fd in {@code SERVER_STARTER_PORT}, which the
 * adapter adopts and, draining, closes. Tomcat is real; so are the sockets and the clients.
 */
@Timeout(60)
class TomcatServerStarterTest {
    private static final int F_DUPFD_CLOEXEC = 1030;

    @TempDir
    Path dir;

    private final CountDownLatch slowEntered = new CountDownLatch(1);
    private final CountDownLatch releaseSlow = new CountDownLatch(1);
    /** The app's own threads: joined before Tomcat stops, which warns of a webapp thread still alive, even one ending. */
    private final List<Thread> appThreads = new CopyOnWriteArrayList<>();
    /** The superdaemon's copy of the listening socket. */
    private ServerSocketChannel listening;
    private int adoptedFd = -1;
    private Tomcat tomcat;
    private TomcatServerStarter starter;

    /**
     * What Tomcat logs at WARNING or above, which none of these tests should make it log, stopping included; but for
     * the session id generator's note that its SecureRandom took over 100 ms, which says how busy the machine is.
     */
    private final List<LogRecord> tomcatWarnings = new CopyOnWriteArrayList<>();
    private final Handler warnings = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.WARNING.intValue() && record.getLoggerName() != null
                    && record.getLoggerName().startsWith("org.apache.")
                    && !record.getLoggerName().equals("org.apache.catalina.util.SessionIdGeneratorBase")) {
                tomcatWarnings.add(record);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void listenToTomcatsLog() {
        Logger.getLogger("").addHandler(warnings);
    }

    @AfterEach
    void stop() throws Exception {
        releaseSlow.countDown();
        for (Thread thread : appThreads) {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }
        try {
            if (tomcat != null) {
                tomcat.stop();
                tomcat.destroy();
            }
        } finally {
            Logger.getLogger("").removeHandler(warnings);
        }
        assertEquals(List.of(), tomcatWarnings.stream().map(r -> r.getLevel() + " " + r.getLoggerName() + ": "
                + r.getMessage() + (r.getThrown() == null ? "" : " " + r.getThrown())).toList());
        if (adoptedFd >= 0 && (starter == null || starter.connectors().isEmpty())) {
            Libc.get().close(adoptedFd); // never adopted, so still ours to close
        }
        if (listening != null) {
            listening.close();
        }
    }

    @Test
    void servesTheInheritedSocketOnAConnectorNamedAfterItsKey() throws Exception {
        InetSocketAddress address = serveTcp();
        try (HttpConnection c = HttpConnection.open(address)) {
            HttpResponse first = c.get("/");
            HttpResponse second = c.get("/");
            assertEquals(200, first.status());
            assertEquals("hello", second.body());
            assertFalse(c.isClosedByServer(), "responses before a drain keep the connection alive");
        }
        Connector connector = starter.connectors().get(0);
        assertEquals("\"http-nio-127.0.0.1:" + address.getPort() + "\"",
                ((AbstractProtocol<?>) connector.getProtocolHandler()).getName());
        assertEquals(address.getPort(), connector.getPort());
        assertEquals(address.getPort(), connector.getLocalPort());
        assertEquals(LifecycleState.STARTED, connector.getState());
    }

    @Test
    void theAppConfiguresEachConnector() throws Exception {
        List<Connector> configured = new ArrayList<>();
        InetSocketAddress address = serveTcp(connector -> {
            connector.setProperty("maxKeepAliveRequests", "2");
            configured.add(connector);
        });
        assertEquals(starter.connectors(), configured);
        try (HttpConnection c = HttpConnection.open(address)) {
            assertNull(c.get("/").header("connection"));
            assertEquals("close", c.get("/").header("connection"), "the app's maxKeepAliveRequests applies");
        }
    }

    /**
     * A request running when the drain begins is answered, with {@code Connection: close}, whether it answers on the
     * container's thread or asynchronously on the app's own; so is the next request on an idle kept-alive connection.
     * Afterwards the socket still listens (the superdaemon's copy) and a new connection waits there for the next
     * generation, untouched by this one.
     */
    @ParameterizedTest
    @ValueSource(strings = {"/slow", "/async"})
    void drainAnswersTheRequestInFlightAndTheNextKeptAliveOneWithConnectionClose(String slowPath) throws Exception {
        InetSocketAddress address = serveTcp();
        CompletableFuture<Boolean> drained;
        try (HttpConnection idle = HttpConnection.open(address); HttpConnection slow = HttpConnection.open(address)) {
            assertEquals(200, idle.get("/").status());
            slow.send(slowPath);
            assertTrue(slowEntered.await(30, TimeUnit.SECONDS), "slow request reached the servlet");

            drained = CompletableFuture.supplyAsync(() -> starter.drain(Duration.ofSeconds(30), Duration.ZERO));
            Await.until("the drain to begin", Duration.ofSeconds(10), starter::isDraining);

            HttpResponse onKeptAlive = idle.get("/");
            assertEquals(200, onKeptAlive.status(), "a kept-alive connection is served, not answered with 503");
            assertEquals("close", onKeptAlive.header("connection"));
            assertFalse(drained.isDone(), "the drain waits for the slow request's connection");

            releaseSlow.countDown();
            HttpResponse slowResponse = slow.read();
            assertEquals(200, slowResponse.status());
            assertEquals("slow done", slowResponse.body());
            assertEquals("close", slowResponse.header("connection"),
                    "a response committed after the drain began closes its connection too");
        }
        assertTrue(drained.get(30, TimeUnit.SECONDS), "every connection closed within the drain timeout");
        assertNextGenerationGetsNewConnections(address);
    }

    /**
     * TLS and HTTP/2 as the app configures them on its connectors (an {@code SSLHostConfig}, {@code Http2Protocol}),
     * on the inherited socket. A drain tells an HTTP/2 connection with a GOAWAY naming the highest stream id, as
     * {@code nghttp} (a real HTTP/2 client) shows; the stream that was open finishes, the client closes the
     * connection, and the drain ends with it.
     */
    @Test
    void drainSendsHttp2ConnectionsAGoAwayAndLetsTheirOpenStreamsFinish() throws Exception {
        TestCertificate certificate = TestCertificate.create(dir, "server.p12");
        InetSocketAddress address = serveTcp(connector -> {
            connector.setScheme("https");
            connector.setSecure(true);
            connector.setProperty("SSLEnabled", "true");
            SSLHostConfig tls = new SSLHostConfig();
            SSLHostConfigCertificate key = new SSLHostConfigCertificate(tls, SSLHostConfigCertificate.Type.UNDEFINED);
            key.setCertificateKeystoreFile(certificate.keystore().toString());
            key.setCertificateKeystorePassword(certificate.password());
            key.setCertificateKeyAlias(certificate.alias());
            tls.addCertificate(key);
            connector.addSslHostConfig(tls);
            connector.addUpgradeProtocol(new Http2Protocol());
        });
        Path out = dir.resolve("nghttp.out");
        Process client = new ProcessBuilder("nghttp", "-v", "https://127.0.0.1:" + address.getPort() + "/slow")
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            assertTrue(slowEntered.await(30, TimeUnit.SECONDS), "the stream reached the servlet over HTTP/2");
            CompletableFuture<Boolean> drained =
                    CompletableFuture.supplyAsync(() -> starter.drain(Duration.ofSeconds(30), Duration.ZERO));
            Await.until("a GOAWAY with the highest stream id", Duration.ofSeconds(10),
                    () -> read(out).contains("recv GOAWAY frame") && read(out).contains("last_stream_id=2147483647"));
            assertFalse(drained.isDone(), "the drain waits for the open stream");

            releaseSlow.countDown();
            assertTrue(client.waitFor(30, TimeUnit.SECONDS), "nghttp ends once its stream is answered");
            String frames = read(out);
            assertEquals(0, client.exitValue(), frames);
            assertTrue(frames.contains(":status: 200") && frames.contains("slow done"), frames);
            assertTrue(drained.get(30, TimeUnit.SECONDS), "the client closed its connection within the drain");
        } finally {
            client.destroyForcibly();
        }
        assertNextGenerationGetsNewConnections(address);
    }

    /**
     * h2c on the inherited socket when the app adds {@code Http2Protocol} to a plain connector, as curl speaks it: with
     * prior knowledge, and by upgrade.
     */
    @Test
    void servesH2cToCurl() throws Exception {
        InetSocketAddress address = serveTcp(connector -> connector.addUpgradeProtocol(new Http2Protocol()));
        String url = "http://127.0.0.1:" + address.getPort() + "/";
        assertEquals("2 hello", Curl.versionAndBody(url, "--http2-prior-knowledge"));
        assertEquals("2 hello", Curl.versionAndBody(url, "--http2"));
        assertEquals("1.1 hello", Curl.versionAndBody(url, "--http1.1"));
    }

    /**
     * A client busy on an HTTP/2 connection may write new streams before it has read the drain's first GOAWAY. Tomcat
     * still takes them for {@link DrainingProtocol#HTTP2_DRAIN} (Http2Protocol's {@code drainTimeout}, which the adapter
     * sets when the app did not; with Tomcat's own default, one measured round trip, they are refused unanswered). A
     * stream opened after that gets the final GOAWAY, naming the last stream Tomcat took, and no answer.
     */
    @Test
    void http2StreamsWrittenAfterTheFirstGoAwayAreStillServedForAWhile() throws Exception {
        InetSocketAddress address = serveTcp(connector -> connector.addUpgradeProtocol(new Http2Protocol()));
        CompletableFuture<Boolean> drained;
        try (Http2Frames client = Http2Frames.connect(address, Duration.ofSeconds(10))) {
            client.get(1, "/");
            assertEquals(Http2Frames.HEADERS, client.next(Http2Frames.answerTo(1)).type(), "stream 1 answered");
            drained = CompletableFuture.supplyAsync(() -> starter.drain(Duration.ofSeconds(30), Duration.ZERO));
            Http2Frames.Frame goAway = client.next(Http2Frames::isGoAway);
            assertEquals(Http2Frames.GOAWAY, goAway.type(), "the first frame after the drain began: " + goAway);
            assertEquals(Integer.MAX_VALUE, goAway.lastStreamId(), "the first GOAWAY");

            // One stream after another, as fast as they are answered, until the final GOAWAY: at most 10 s or 100,000.
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            int stream = 3;
            int answered = 1;
            Http2Frames.Frame last = null;
            while (last == null && stream < 200_001 && System.nanoTime() < end) {
                client.get(stream, "/");
                Http2Frames.Frame frame = client.next(Http2Frames.answerTo(stream).or(Http2Frames::isGoAway));
                if (frame.type() == Http2Frames.GOAWAY) {
                    last = frame;
                } else {
                    assertEquals(Http2Frames.HEADERS, frame.type(), "stream " + stream + ": " + frame);
                    answered = stream;
                    stream += 2;
                }
            }
            assertTrue(answered >= 3, "the stream written right after the first GOAWAY was refused: " + last);
            assertTrue(last != null, "no final GOAWAY within 10 s; streams answered up to " + answered);
            assertEquals(answered, last.lastStreamId(), "the final GOAWAY names the last stream answered");
        }
        assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ends when the client has closed its connection");
        assertNextGenerationGetsNewConnections(address);
    }

    /**
     * An idle keep-alive connection is neither closed nor answered with 503 when the drain begins: its client may be
     * sending a request that very moment. It is served, told to close, and the drain ends when the client has closed
     * it. A response without a body (204) is told too.
     */
    @Test
    void anIdleKeepAliveConnectionIsKeptUntilItsClientClosesIt() throws Exception {
        InetSocketAddress address = serveTcp();
        CompletableFuture<Boolean> drained;
        try (HttpConnection idle = HttpConnection.open(address);
             HttpConnection silent = HttpConnection.open(address)) {
            assertEquals(200, idle.get("/").status());
            assertEquals(200, silent.get("/").status());
            drained = CompletableFuture.supplyAsync(() -> starter.drain(Duration.ofSeconds(30), Duration.ZERO));
            Await.until("the drain to begin", Duration.ofSeconds(10), starter::isDraining);

            HttpResponse late = idle.get("/empty");
            assertEquals(204, late.status(), "the idle connection was still served");
            assertEquals("close", late.header("connection"));
            assertFalse(drained.isDone(), "the drain ended with a client's connection still open");
        }
        assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ended once the clients closed their connections");
    }

    /**
     * An answer committed as keep-alive before the drain began can no longer say {@code Connection: close}, so its
     * client may send the next request on the same connection: that one is answered and told to close, instead of
     * the connection closing under it.
     */
    @Test
    void anAnswerCommittedBeforeTheDrainKeepsItsConnectionForTheNextRequest() throws Exception {
        InetSocketAddress address = serveTcp();
        CompletableFuture<Boolean> drained;
        try (HttpConnection streaming = HttpConnection.open(address)) {
            streaming.send("/stream");
            assertTrue(slowEntered.await(30, TimeUnit.SECONDS), "the streamed answer was committed");
            drained = CompletableFuture.supplyAsync(() -> starter.drain(Duration.ofSeconds(30), Duration.ZERO));
            Await.until("the drain to begin", Duration.ofSeconds(10), starter::isDraining);
            releaseSlow.countDown();
            HttpResponse streamed = streaming.read();
            assertEquals("committed, then done", streamed.body());
            assertFalse(streaming.isClosedByServer(), "committed before the drain: " + streamed);
            HttpResponse next = streaming.get("/");
            assertEquals("hello", next.body());
            assertEquals("close", next.header("connection"));
        }
        assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ended once the client closed its connection");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/slow", "/async"})
    void drainReturnsFalseAtItsDeadlineAndSaysWhatWasLeft(String slowPath) throws Exception {
        InetSocketAddress address = serveTcp();
        try (HttpConnection idle = HttpConnection.open(address); HttpConnection slow = HttpConnection.open(address)) {
            assertEquals(200, idle.get("/").status());
            slow.send(slowPath);
            assertTrue(slowEntered.await(30, TimeUnit.SECONDS), "slow request reached the servlet");
            String err = Stderr.of(() -> assertFalse(starter.drain(Duration.ofMillis(300))));
            assertEquals("TomcatServerStarter: 2 connection(s) still open, 1 request(s) running, after 300 ms; "
                    + "stopping anyway\n", err);
            // The drain does not stop Tomcat: both connections are still served until tomcat.stop().
            assertEquals("close", idle.get("/").header("connection"));
            releaseSlow.countDown();
            assertEquals("slow done", slow.read().body());
            Await.until("the request to count as finished", Duration.ofSeconds(10), () -> starter.requestsRunning() == 0);
            assertFalse(starter.drain(Duration.ofSeconds(30)), "a later drain returns the first one's result");
        }
    }

    /** {@code tomcat.stop()} drains first: a request in flight is answered, not cut off, and never with a 503. */
    @Test
    void tomcatStopDrainsFirst() throws Exception {
        InetSocketAddress address = serveTcp();
        CompletableFuture<Void> stopped;
        try (HttpConnection slow = HttpConnection.open(address)) {
            slow.send("/async");
            assertTrue(slowEntered.await(30, TimeUnit.SECONDS), "slow request reached the servlet");
            Tomcat stopping = tomcat;
            stopped = CompletableFuture.runAsync(() -> {
                try {
                    stopping.stop();
                } catch (LifecycleException e) {
                    throw new IllegalStateException(e);
                }
            });
            Await.until("the drain to begin", Duration.ofSeconds(10), starter::isDraining);
            assertFalse(stopped.isDone(), "Tomcat stopped under a request in flight");
            releaseSlow.countDown();
            HttpResponse answer = slow.read();
            assertEquals(200, answer.status());
            assertEquals("slow done", answer.body());
            // Within the drain's 200 ms spread the answer may still keep the connection alive; then the next
            // request on it is served too, and one of them is told to close.
            Await.until("an answer with Connection: close", Duration.ofSeconds(10), () -> {
                if (slow.isClosedByServer()) {
                    return true;
                }
                try {
                    assertEquals(200, slow.get("/").status());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return slow.isClosedByServer();
            });
        }
        stopped.get(30, TimeUnit.SECONDS);
        assertEquals(LifecycleState.STOPPED, tomcat.getServer().getState());
        assertThrows(LifecycleException.class, tomcat::start, "its sockets were closed when it stopped");
        IllegalStateException again = assertThrows(IllegalStateException.class, () -> starter.listen(tomcat));
        assertEquals("TomcatServerStarter.listen was already called", again.getMessage());
    }

    /**
     * With a spread, kept-alive connections are told to close over it, not all at their next response; a client that
     * keeps sending on its connection is served until it is told, and none is lost.
     */
    @Test
    void theClosesAreSpreadOverTheSpread() throws Exception {
        InetSocketAddress address = serveTcp();
        try (KeepAliveClients clients = KeepAliveClients.open(address, 20)) {
            CompletableFuture<Boolean> drained =
                    CompletableFuture.supplyAsync(() -> starter.drain(Duration.ofSeconds(30), Duration.ofSeconds(3)));
            Await.until("the drain to begin", Duration.ofSeconds(10), starter::isDraining);
            // Sent well within the first second, so each response closes with a chance of about 1 in 3 at most.
            clients.assertToldToCloseOverTheSpread(Duration.ofSeconds(20));
            assertTrue(drained.get(30, TimeUnit.SECONDS), "the drain ended once every client had closed");
        }
    }

    /** Tomcat's NIO endpoint serves an adopted unix socket too, and neither the drain nor the stop deletes its path. */
    @Test
    void servesAUnixSocketAndLeavesItsPathInPlace() throws Exception {
        Path path = dir.resolve("app.sock");
        listening = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(path));
        serve(path.toString(), connector -> { });
        CompletableFuture<Boolean> drained;
        try (HttpConnection c = HttpConnection.open(path)) {
            assertEquals("hello", c.get("/").body());
            assertFalse(c.isClosedByServer());
            drained = CompletableFuture.supplyAsync(() -> starter.drain(Duration.ofSeconds(30), Duration.ZERO));
            Await.until("the drain to begin", Duration.ofSeconds(10), starter::isDraining);
            HttpResponse last = c.get("/");
            assertEquals(200, last.status());
            assertEquals("close", last.header("connection"));
        }
        assertTrue(drained.get(30, TimeUnit.SECONDS));
        assertNextGenerationGetsNewConnections(UnixDomainSocketAddress.of(path));
        tomcat.stop();
        tomcat.destroy();
        tomcat = null;
        assertTrue(Files.exists(path), "the adapter deleted " + path);
    }

    @Test
    void notUnderASuperdaemon() {
        TomcatServerStarter absent = TomcatServerStarter.fromEnvironment(Map.of());
        assertFalse(absent.isPresent());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> absent.listen(new Tomcat()));
        assertEquals("SERVER_STARTER_PORT is not set: not under start_server, so bind a port of your own instead of "
                + "calling listen", e.getMessage());
        assertThrows(IllegalStateException.class, () -> absent.drainOnShutdown(Duration.ofSeconds(1)));
    }

    @Test
    void listenAfterStartIsRefusedAndAdoptsNothing() throws Exception {
        tomcat = tomcat();
        tomcat.start();
        TomcatServerStarter late = TomcatServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", "127.0.0.1:1=99"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> late.listen(tomcat));
        assertEquals("TomcatServerStarter.listen must be called before tomcat.start()", e.getMessage());
        assertThrows(IllegalStateException.class, () -> late.drain(Duration.ZERO));
    }

    private InetSocketAddress serveTcp() throws Exception {
        return serveTcp(connector -> { });
    }

    private InetSocketAddress serveTcp(Consumer<Connector> configure) throws Exception {
        listening = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        InetSocketAddress address = (InetSocketAddress) listening.getLocalAddress();
        serve("127.0.0.1:" + address.getPort(), configure);
        return address;
    }

    /** Serves {@code listening} as the superdaemon's entry {@code key}, through a duplicate of its fd. */
    private void serve(String key, Consumer<Connector> configure) throws Exception {
        adoptedFd = duplicate(listening);
        starter = TomcatServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", key + "=" + adoptedFd));
        tomcat = tomcat();
        starter.listen(tomcat, configure);
        tomcat.start();
    }

    private Tomcat tomcat() {
        Tomcat t = new Tomcat();
        t.setBaseDir(dir.resolve("tomcat").toString());
        StandardContext context = (StandardContext) t.addContext("", null);
        // Tomcat's leak checks need more --add-opens flags than these tests care for, and would warn without them.
        context.setClearReferencesThreadLocals(false);
        context.setClearReferencesRmiTargets(false);
        Tomcat.addServlet(context, "app", new App()).setAsyncSupported(true);
        context.addServletMappingDecoded("/*", "app");
        return t;
    }

    /**
     * {@code /} answers "hello", {@code /empty} 204; {@code /slow} and {@code /async} answer once released, and
     * {@code /stream} commits the first half of its answer at once and sends the rest once released.
     */
    private final class App extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
            switch (request.getRequestURI()) {
                case "/empty" -> response.setStatus(HttpServletResponse.SC_NO_CONTENT);
                case "/stream" -> {
                    response.setContentType("text/plain");
                    response.getWriter().print("committed, ");
                    response.flushBuffer();
                    slowEntered.countDown();
                    awaitRelease();
                    response.getWriter().print("then done");
                }
                case "/slow" -> {
                    slowEntered.countDown();
                    awaitRelease();
                    answer(response, "slow done");
                }
                case "/async" -> {
                    AsyncContext async = request.startAsync();
                    async.setTimeout(60_000);
                    slowEntered.countDown();
                    // Answered on a thread of the app's, as an async servlet does once its result is there.
                    Thread answering = new Thread(() -> {
                        awaitRelease();
                        try {
                            answer((HttpServletResponse) async.getResponse(), "slow done");
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        } finally {
                            async.complete();
                        }
                    }, "async-answer");
                    appThreads.add(answering);
                    answering.start();
                }
                default -> answer(response, "hello");
            }
        }

        private void awaitRelease() {
            try {
                releaseSlow.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static void answer(HttpServletResponse response, String body) throws IOException {
            response.setContentType("text/plain");
            response.getWriter().print(body);
        }
    }

    /**
     * After the drain this process no longer accepts on the socket, yet the socket still listens: a new connection
     * waits in its queue, where the superdaemon's copy (the test's) takes it, as the next generation would.
     */
    private void assertNextGenerationGetsNewConnections(SocketAddress address) throws IOException {
        try (SocketChannel client = SocketChannel.open(address);
             SocketChannel taken = listening.accept()) {
            assertTrue(taken.isConnected());
            assertTrue(client.isConnected());
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A second fd on {@code channel}'s socket, as a superdaemon's child inherits one. */
    private static int duplicate(ServerSocketChannel channel) throws Exception {
        Method fdOf = Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal");
        fdOf.setAccessible(true);
        int fd = (int) fdOf.invoke(channel);
        int copy = Libc.get().fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0) {
            throw new IOException("fcntl(" + fd + ", F_DUPFD_CLOEXEC): " + Libc.lastError());
        }
        return copy;
    }
}

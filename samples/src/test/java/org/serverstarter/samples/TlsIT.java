package org.serverstarter.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.H2load;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Repo;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * The Jetty, Undertow, Netty and Tomcat samples under {@code SAMPLE_TLS=1} and our start_server: HTTPS with HTTP/2 and
 * HTTP/1.1 over ALPN seen by curl, a restart under h2load with an idle HTTP/2 connection that moves to the next
 * generation after a graceful GOAWAY (two steps; Tomcat's first step), and a certificate rotation by HUP, also under
 * Perl's start_server (docs/tls.md).
 */
class TlsIT {
    private static final Duration DEADLINE = Duration.ofSeconds(60);
    private static final Path CERT = Repo.root().resolve("samples/target/tls/cert.pem");
    private static final Path KEYSTORE = Repo.root().resolve("samples/target/tls/keystore.p12");
    private static final int H2LOAD_CLIENTS = 4;
    private static final int H2LOAD_STREAMS = 4;

    /**
     * One restart of each TLS sample, seen by three clients at once.
     *
     * <ul>
     *   <li>curl gets HTTP/2 and HTTP/1.1 through ALPN before it.</li>
     *   <li>h2load keeps {@value #H2LOAD_CLIENTS} HTTP/2 connections busy with {@value #H2LOAD_STREAMS} streams each
     *       across it, until each connection is told GOAWAY; every request it wrote must have been answered with a
     *       2xx ({@link H2load}).</li>
     *   <li>A client keeps an HTTP/2 connection open and idle. With Jetty, Undertow and Netty it gets a graceful
     *       GOAWAY in two steps (the highest stream id, then the last one served: Jetty's own, the adapters' for
     *       Undertow and Netty), the connection closes, and the client's next request, on a new connection, reaches
     *       the new generation. Tomcat's drain takes the first step only: the idle connection gets GOAWAY(2147483647),
     *       and Tomcat sends its second GOAWAY only when the client opens another stream there, or when it stops at
     *       the drain's deadline (docs/tls.md, "The drain"); the client sends its next request on a new connection,
     *       which reaches the new generation, and once it closes the old one the old generation exits without waiting
     *       for its deadline.</li>
     * </ul>
     */
    @ParameterizedTest(name = "{0} over TLS")
    @ValueSource(strings = {"jetty", "undertow", "netty", "tomcat"})
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void restartsWithoutAFailedStream(String app, @TempDir Path dir) throws Exception {
        assumeTools();
        int port = Ports.freeTcpPort();
        Path status = dir.resolve("status");
        SslContextFactory.Client tls = clientTls();
        HTTP2Client client = startedHttp2Client(tls);
        try (StarterProcess starter = start(app, port, status, Map.of(), dir)) {
            long first = awaitOnlyGeneration(starter, status, 0);
            String url = "https://127.0.0.1:" + port + "/";
            assertEquals("2 " + first, curl(dir, "--http2", url), "curl --http2 (ALPN h2)");
            assertEquals("1.1 " + first, curl(dir, "--http1.1", url), "curl --http1.1 (ALPN http/1.1)");

            InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
            List<Integer> goAways = new CopyOnWriteArrayList<>();
            CompletableFuture<Void> closed = new CompletableFuture<>();
            Session idle = client.connect(tls, address, new Session.Listener() {
                @Override
                public void onGoAway(Session session, GoAwayFrame frame) {
                    goAways.add(frame.getLastStreamId());
                }

                @Override
                public void onClose(Session session, GoAwayFrame frame, Callback callback) {
                    closed.complete(null);
                    callback.succeeded();
                }
            }).get(10, TimeUnit.SECONDS);
            assertEquals(Long.toString(first), get(idle, port), "the idle connection's first request");

            H2load h2load = H2load.start(url, H2LOAD_CLIENTS, H2LOAD_STREAMS, dir);
            try {
                // h2load has connected long before the new generation, warming up for seconds, takes over.
                starter.signal("HUP");
                if (app.equals("tomcat")) {
                    Await.until("the first GOAWAY", DEADLINE, () -> !goAways.isEmpty());
                    assertEquals(List.of(Integer.MAX_VALUE), goAways, "GOAWAY last-stream-ids at the drain's start");
                    Session next = client.connect(tls, address, new Session.Listener() {}).get(10, TimeUnit.SECONDS);
                    String generation = get(next, port);
                    assertTrue(Long.parseLong(generation) > first, "the request after the GOAWAY reached generation "
                            + generation);
                    idle.close(0, "done", Callback.NOOP);
                    awaitOnlyGeneration(starter, status, first);
                    // Else the next generation's drain, too, waits for this client to close its connection.
                    next.close(0, "done", Callback.NOOP);
                } else {
                    long second = awaitOnlyGeneration(starter, status, first);
                    closed.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
                    // Jetty repeats the first, once the adapter's has been answered (Http2FirstGoAway).
                    assertEquals(List.of(Integer.MAX_VALUE, 1), goAways.stream().distinct().toList(),
                            "GOAWAY last-stream-ids: first the graceful one, then the one stream served: " + goAways);
                    Session next = client.connect(tls, address, new Session.Listener() {}).get(10, TimeUnit.SECONDS);
                    assertEquals(Long.toString(second), get(next, port), "the request after the restart");
                }
                System.out.println("TlsIT " + app + ": h2load, "
                        + h2load.awaitEveryRequestAnswered(Duration.ofSeconds(60)));
            } finally {
                h2load.close();
            }
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(DEADLINE), starter.output());
        } finally {
            client.stop();
        }
    }

    /**
     * Certificate rotation is a restart: the keystore is replaced (by a rename, as a deploy hook does), start_server
     * gets HUP, and new connections see the new certificate, while a client that connects again and again all along
     * never fails. Jetty under our start_server with {@code --readiness=notify}; Tomcat under Perl's, which has no
     * readiness, with the samples' slow start ({@code --signal-on-hup=CONT}, {@code SLOW_START=1}).
     */
    @ParameterizedTest(name = "{0} under {1} start_server")
    @CsvSource({"jetty, JAVA", "tomcat, PERL"})
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void hupRotatesTheCertificate(String app, Superdaemon superdaemon, @TempDir Path dir) throws Exception {
        assumeTools();
        assumeTrue(superdaemon.isAvailable(), superdaemon + " start_server is not installed");
        Path keystore = dir.resolve("keystore.p12");
        Files.copy(KEYSTORE, keystore);
        Path next = dir.resolve("next");
        Process generate = new ProcessBuilder(Repo.root().resolve("samples/tls/generate").toString(),
                next.toString(), "rotated").redirectErrorStream(true).start();
        assertTrue(generate.waitFor(60, TimeUnit.SECONDS) && generate.exitValue() == 0,
                new String(generate.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
                next.resolve("keystore.p12"))), "the private key is its owner's alone");
        SSLContext trustingBoth = trusting(KEYSTORE, next.resolve("keystore.p12"));
        int port = Ports.freeTcpPort();
        Path status = dir.resolve("status");
        try (StarterProcess starter = start(superdaemon, app, port, status,
                Map.of("SAMPLE_TLS_KEYSTORE", keystore.toString()), dir)) {
            long first = awaitOnlyGeneration(starter, status, 0);
            Handshakes handshakes = new Handshakes(trustingBoth, port);
            try {
                Await.until("a handshake with the first certificate", DEADLINE,
                        () -> handshakes.subjects().contains("CN=server-starter sample"));
                Files.move(next.resolve("keystore.p12"), keystore, StandardCopyOption.REPLACE_EXISTING,
                        StandardCopyOption.ATOMIC_MOVE);
                starter.signal("HUP");
                awaitOnlyGeneration(starter, status, first);
                Await.until("a handshake with the new certificate", DEADLINE,
                        () -> handshakes.subjects().contains("CN=rotated"));
            } finally {
                handshakes.close();
            }
            assertEquals(List.of(), handshakes.failures(), "failed connections");
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(DEADLINE), starter.output());
        }
    }

    /** New TLS connections, one after another, each with one HTTP/1.1 request; at most 20,000 or 100 s. */
    private static final class Handshakes {
        private final Set<String> subjects = ConcurrentHashMap.newKeySet();
        private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicLong done = new AtomicLong();
        private final Thread thread;

        Handshakes(SSLContext context, int port) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(100);
            thread = new Thread(() -> {
                while (!stop.get() && done.get() < 20_000 && System.nanoTime() < end) {
                    try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
                        socket.setSoTimeout(10_000);
                        socket.startHandshake();
                        String subject = ((X509Certificate) socket.getSession().getPeerCertificates()[0])
                                .getSubjectX500Principal().getName();
                        OutputStream out = socket.getOutputStream();
                        out.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                                .getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        InputStream in = socket.getInputStream();
                        String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
                        if (!answer.startsWith("HTTP/1.1 200")) {
                            failures.add(answer.lines().findFirst().orElse("(nothing)"));
                        }
                        subjects.add(subject);
                    } catch (IOException e) {
                        failures.add(e.toString());
                    }
                    done.incrementAndGet();
                }
            }, "tls-handshakes");
            thread.start();
        }

        Set<String> subjects() {
            return subjects;
        }

        List<String> failures() {
            return List.copyOf(failures);
        }

        void close() throws InterruptedException {
            stop.set(true);
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }
    }

    private static void assumeTools() {
        assumeTrue(Superdaemon.JAVA.isAvailable(), "superdaemon/target/start_server.jar is not built");
        assumeTrue(Files.isReadable(KEYSTORE), "samples/target/tls is not built (mvn package)");
        assumeTrue(H2load.isInstalled(), "h2load (nghttp2-client) is not installed");
    }

    private static StarterProcess start(String app, int port, Path status, Map<String, String> env, Path dir) {
        return start(Superdaemon.JAVA, app, port, status, env, dir);
    }

    /**
     * The sample over TLS under {@code superdaemon}: ours gates the restart on {@code READY=1}; Perl's, which cannot,
     * leaves the old generation's retirement to the new one (slow start), once it is warm.
     */
    private static StarterProcess start(Superdaemon superdaemon, String app, int port, Path status,
            Map<String, String> env, Path dir) {
        Map<String, String> all = new HashMap<>(env);
        all.put("SAMPLE_TLS", "1");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + port, "--status-file=" + status));
        if (superdaemon == Superdaemon.JAVA) {
            args.addAll(List.of("--readiness=notify", "--ready-timeout=60"));
        } else {
            args.addAll(List.of("--interval=1", "--signal-on-hup=CONT"));
            all.put("SLOW_START", "1");
            all.put("SERVER_STARTER_STATUS_FILE", status.toString());
        }
        args.addAll(List.of("--", Repo.root().resolve("samples/" + app + "/run").toString()));
        return StarterProcess.start(superdaemon, args, all, dir);
    }

    /** Waits until the only generation left is newer than {@code older}; returns it. */
    private static long awaitOnlyGeneration(StarterProcess starter, Path status, long older) {
        try {
            SortedMap<Long, Long> generations = StatusFile.awaitGenerations(status,
                    gens -> gens.size() == 1 && gens.firstKey() > older, DEADLINE);
            return generations.firstKey();
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\nstart_server output:\n" + starter.output(), e);
        }
    }

    /** curl's HTTP version and the X-Generation it got, e.g. "2 1". */
    private static String curl(Path dir, String version, String url) throws Exception {
        Process curl = new ProcessBuilder("curl", "-sS", "--max-time", "10", version, "--cacert", CERT.toString(),
                "-o", "/dev/null", "-w", "%{http_version} %header{x-generation}", url)
                .directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(curl.waitFor(20, TimeUnit.SECONDS), "curl did not end");
        assertEquals(0, curl.exitValue(), out);
        return out;
    }

    /** Jetty's HTTP/2 client, started, trusting the samples' certificate through {@code tls}. */
    private static HTTP2Client startedHttp2Client(SslContextFactory.Client tls) throws Exception {
        HTTP2Client client = new HTTP2Client();
        client.getClientConnector().setSslContextFactory(tls);
        client.start();
        return client;
    }

    private static SslContextFactory.Client clientTls() {
        SslContextFactory.Client tls = new SslContextFactory.Client();
        tls.setTrustStorePath(KEYSTORE.toString());
        tls.setTrustStoreType("PKCS12");
        tls.setTrustStorePassword(Tls.DEFAULT_PASSWORD);
        return tls;
    }

    /** GET / on a new stream of {@code session}; returns its X-Generation. */
    private static String get(Session session, int port) throws Exception {
        MetaData.Request request = new MetaData.Request("GET",
                HttpURI.from("https://127.0.0.1:" + port + "/"), HttpVersion.HTTP_2, HttpFields.EMPTY);
        CompletableFuture<String> generation = new CompletableFuture<>();
        session.newStream(new HeadersFrame(request, null, true), new Stream.Listener() {
            @Override
            public void onHeaders(Stream stream, HeadersFrame frame) {
                MetaData.Response response = (MetaData.Response) frame.getMetaData();
                if (response.getStatus() != 200) {
                    generation.completeExceptionally(new AssertionError("status " + response.getStatus()));
                }
                generation.complete(response.getHttpFields().get("X-Generation"));
                stream.demand();
            }

            @Override
            public void onDataAvailable(Stream stream) {
                Stream.Data data = stream.readData();
                if (data != null) {
                    data.release();
                    if (data.frame().isEndStream()) {
                        return;
                    }
                }
                stream.demand();
            }

            @Override
            public void onReset(Stream stream, ResetFrame frame, Callback callback) {
                generation.completeExceptionally(new AssertionError("stream reset: " + frame));
                callback.succeeded();
            }
        }).get(10, TimeUnit.SECONDS);
        return generation.get(10, TimeUnit.SECONDS);
    }

    private static SSLContext trusting(Path... keystores) throws Exception {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        int n = 0;
        for (Path path : keystores) {
            KeyStore store = new Tls(path, Tls.DEFAULT_PASSWORD).load();
            trusted.setCertificateEntry("cert" + n++, store.getCertificate("sample"));
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context;
    }
}

package org.serverstarter.samples.spring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Exited;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Repo;
import org.serverstarter.testkit.RestartsUnderLoad;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;
import org.serverstarter.testkit.TestCertificate;

/**
 * A Spring Boot sample (the module's own, named by the system property {@code sample}: spring-mvc or spring-jetty),
 * an app with no code for start_server, started by its {@code run} script ({@code java -jar},
 * no JVM flag): served on inherited IPv4 and IPv6 sockets and hot-restarted under load without a lost request under
 * both superdaemons; {@code READY=1} after the app's runners; its own port without a superdaemon; a broken socket
 * reported without a stack trace.
 */
class SpringSampleIT {
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final Path RUN = Repo.root().resolve("samples/" + System.getProperty("sample") + "/run");

    static List<Superdaemon> superdaemons() {
        return Superdaemon.available().toList();
    }

    @ParameterizedTest(name = "under {0} start_server")
    @MethodSource("superdaemons")
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void servesBothFamiliesAndRestartsUnderLoadLosingNothing(Superdaemon superdaemon, @TempDir Path dir)
            throws Exception {
        int port = Ports.freeTcpPort();
        int port6 = Ports.freeTcpPort("::1");
        Path status = dir.resolve("status");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + port, "--port=[::1]:" + port6,
                "--status-file=" + status));
        // Ours retires a generation once the next one said READY=1; Perl's after --interval, whatever the new one
        // is doing, and the inherited socket's backlog holds new clients until it accepts.
        args.add(superdaemon == Superdaemon.JAVA ? "--readiness=notify" : "--interval=2");
        args.addAll(List.of("--", RUN.toString()));
        try (StarterProcess starter = StarterProcess.start(superdaemon, args, Map.of(), dir)) {
            InetSocketAddress v4 = new InetSocketAddress("127.0.0.1", port);
            InetSocketAddress v6 = new InetSocketAddress("::1", port6);
            long first = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            Await.until("generation 1 answering on both sockets", WAIT, () -> answers(v4, first) && answers(v6, first));
            HttpResponse response = HttpClient.get(v4, "/");
            assertEquals("1", response.header("X-Generation"), starter.output());
            RestartsUnderLoad.run(starter, v4, status, first);
            starter.signal("TERM");
            starter.awaitExit(WAIT);
        }
    }

    /**
     * TLS and HTTP/2 as a Boot app configures them ({@code server.ssl.*}, {@code server.http2.enabled}, here from the
     * environment), on both inherited sockets: curl negotiates h2 over ALPN, and HTTP/1.1 still works, and the
     * certificate is the app's.
     */
    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void servesTlsAndHttp2FromServerSsl(@TempDir Path dir) throws Exception {
        TestCertificate certificate = TestCertificate.create(dir, "server.p12");
        int port = Ports.freeTcpPort();
        int port6 = Ports.freeTcpPort("::1");
        Path status = dir.resolve("status");
        List<String> args = List.of("--port=127.0.0.1:" + port, "--port=[::1]:" + port6, "--status-file=" + status,
                "--readiness=notify", "--", RUN.toString());
        Map<String, String> env = Map.of("SERVER_SSL_KEY_STORE", certificate.keystore().toString(),
                "SERVER_SSL_KEY_STORE_PASSWORD", certificate.password(), "SERVER_SSL_KEY_STORE_TYPE", "PKCS12",
                "SERVER_SSL_KEY_ALIAS", certificate.alias(), "SERVER_HTTP2_ENABLED", "true");
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args, env, dir)) {
            starter.awaitOutput("(?s).*new worker \\d+ is ready.*", WAIT);
            for (String url : List.of("https://127.0.0.1:" + port + "/", "https://[::1]:" + port6 + "/")) {
                assertEquals("2 200 1", curl(dir, certificate, "--http2", url), url);
                assertEquals("1.1 200 1", curl(dir, certificate, "--http1.1", url), url);
            }
            starter.signal("TERM");
            starter.awaitExit(WAIT);
        }
    }

    /** curl's HTTP version, status and X-Generation for {@code url}, trusting only {@code certificate}. */
    private static String curl(Path dir, TestCertificate certificate, String version, String url) throws Exception {
        Path pem = dir.resolve("server.pem");
        if (!Files.exists(pem)) {
            Exited exported = Exited.run(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool")
                    .toString(), "-exportcert", "-rfc", "-alias", certificate.alias(), "-keystore",
                    certificate.keystore().toString(), "-storepass", certificate.password(), "-file", pem.toString()),
                    Duration.ofSeconds(30));
            assertEquals(0, exported.status(), exported.output());
        }
        Exited got = Exited.run(new ProcessBuilder("curl", "-sS", version, "--cacert", pem.toString(), "-o",
                "/dev/null", "-w", "%{http_version} %{http_code} %header{x-generation}", url), Duration.ofSeconds(30));
        assertEquals(0, got.status(), got.output());
        return got.output().strip();
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void readyComesAfterTheAppsRunners(@TempDir Path dir) throws Exception {
        int port = Ports.freeTcpPort();
        List<String> args = List.of("--port=127.0.0.1:" + port, "--readiness=notify", "--", RUN.toString());
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args, Map.of("WARM_UP_MS", "1500"),
                dir)) {
            starter.awaitOutput("(?s).*new worker \\d+ is ready.*", WAIT);
            String output = starter.output();
            int warmedUp = output.indexOf("spring sample: warmed up, generation 1");
            assertTrue(warmedUp >= 0 && warmedUp < output.indexOf(" is ready"), output);
        }
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void withoutASuperdaemonItBindsServerPort() throws Exception {
        int port = Ports.freeTcpPort();
        ProcessBuilder builder = new ProcessBuilder(RUN.toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put("PORT", Integer.toString(port));
        Process app = builder.start();
        try {
            InetSocketAddress own = new InetSocketAddress("127.0.0.1", port);
            Await.until("the app answering on its own port", WAIT, () -> answers(own, app.pid()));
        } finally {
            app.destroy();
            app.waitFor(30, TimeUnit.SECONDS);
            app.destroyForcibly();
        }
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void anFdThatIsNotASocketIsReportedWithoutAStackTrace() throws Exception {
        ProcessBuilder builder = new ProcessBuilder("sh", "-c", "exec 7</etc/hostname; exec \"$0\"", RUN.toString());
        builder.environment().put("SERVER_STARTER_PORT", "127.0.0.1:8080=7");
        Exited app = Exited.run(builder, Duration.ofSeconds(60));
        String output = app.output();
        assertNotEquals(0, app.status(), output);
        assertTrue(output.contains("fd 7 is not a socket"), output);
        assertFalse(output.lines().anyMatch(line -> line.startsWith("\tat ")), output);
    }

    private static boolean answers(InetSocketAddress address, long pid) {
        try {
            return HttpClient.get(address, "/").body().strip().endsWith("pid=" + pid);
        } catch (RuntimeException e) {
            return false;
        }
    }
}

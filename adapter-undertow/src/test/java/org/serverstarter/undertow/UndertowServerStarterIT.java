package org.serverstarter.undertow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;
import org.serverstarter.testkit.TestCertificate;

/**
 * {@link UndertowWorker} in a child JVM under a real start_server, for what only the Undertow adapter has (what every
 * adapter must do is in {@link UndertowContractIT}): denied Unsafe access, and the readiness gate over TLS.
 */
class UndertowServerStarterIT {
    private static final Duration START = Duration.ofSeconds(30);
    /** New connections while generation 2 is up but not ready. */
    private static final int REQUESTS_BEFORE_READY = 20;

    @TempDir
    Path dir;

    /**
     * Pins a limitation the README documents: jboss-threads, which XNIO's worker uses, needs sun.misc.Unsafe, and
     * JDK 24+ can deny it. Should a later jboss-threads drop Unsafe, this fails and the README needs updating.
     */
    @Test
    @Timeout(60)
    void deniedUnsafeMemoryAccessIsNamedInOneLine() {
        Path jdk = ChildJava.jdks().stream().filter(home -> featureVersion(home) >= 24).findFirst().orElse(null);
        Assumptions.assumeTrue(jdk != null, "no JDK 24+ to run the worker on");
        List<String> worker = new ArrayList<>(ChildJava.command(jdk, UndertowWorker.class));
        worker.add(1, "--sun-misc-unsafe-memory-access=deny");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + Ports.freeTcpPort(), "--"));
        args.addAll(worker);
        try (StarterProcess starter = StarterProcess.start(Superdaemon.available().findFirst().orElseThrow(), args,
                Map.of(), dir)) {
            starter.awaitOutput("StarterException: cannot start the XNIO worker .*"
                    + Pattern.quote("--sun-misc-unsafe-memory-access=deny"), START);
        }
    }

    /**
     * The contract case {@code aGenerationThatDefersReadyTakesNoConnectionBeforeIt} over HTTPS
     * ({@code listen(builder, sslContext)}): while generation 2 has started but not said it is ready, every new TLS
     * connection is still answered by generation 1; once it is ready, generation 2 takes over.
     */
    @Test
    @Timeout(120)
    void aTlsGenerationThatDefersReadyTakesNoConnectionBeforeIt() throws Exception {
        TestCertificate certificate = TestCertificate.create(dir, "server.p12");
        SSLContext client = trusting(certificate);
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        Path ready = dir.resolve("ready");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(),
                "--status-file=" + status, "--readiness=notify", "--"));
        List<String> worker = new ArrayList<>(ChildJava.command(UndertowWorker.class));
        worker.add(1, "--enable-native-access=ALL-UNNAMED");
        args.addAll(worker);
        Files.createFile(Path.of(ready + ".1"));
        Map<String, String> env = Map.of("READY_FILE", ready.toString(), "KEYSTORE", certificate.keystore().toString(),
                "KEYSTORE_PASSWORD", certificate.password());
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args, env, dir)) {
            long pid1 = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), START).get(1L);
            starter.awaitOutput("new worker " + pid1 + " is ready", START);
            String first = "gen=1 pid=" + pid1 + "\n";
            assertEquals(first, httpsGet(client, address));

            starter.signal("HUP");
            starter.awaitOutput("^started gen=2 pid=\\d+$", START);
            for (int i = 0; i < REQUESTS_BEFORE_READY; i++) {
                assertEquals(first, httpsGet(client, address),
                        "request " + i + " on a new TLS connection while generation 2 is not ready");
            }

            Files.createFile(Path.of(ready + ".2"));
            long pid2 = StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(2L)), START).get(2L);
            assertEquals("gen=2 pid=" + pid2 + "\n", httpsGet(client, address));
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(START), starter.output());
        }
    }

    private static SSLContext trusting(TestCertificate certificate) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(certificate.keystore())) {
            keys.load(in, certificate.password().toCharArray());
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(keys);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context;
    }

    /** GET / over a new TLS connection, closed after the answer; its body, once the status was 200. */
    private static String httpsGet(SSLContext context, InetSocketAddress address) throws IOException {
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(address.getAddress(),
                address.getPort())) {
            socket.setSoTimeout((int) START.toMillis());
            socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(response.startsWith("HTTP/1.1 200 "), response);
            return response.substring(response.indexOf("\r\n\r\n") + 4);
        }
    }

    /** The JDK's feature release number, from the {@code release} file every JDK image carries. */
    private static int featureVersion(Path javaHome) {
        try {
            Matcher version = Pattern.compile("^JAVA_VERSION=\"(\\d+)", Pattern.MULTILINE)
                    .matcher(Files.readString(javaHome.resolve("release")));
            return version.find() ? Integer.parseInt(version.group(1)) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

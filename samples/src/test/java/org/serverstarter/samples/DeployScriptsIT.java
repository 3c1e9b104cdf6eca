package org.serverstarter.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Repo;
import org.serverstarter.testkit.StatusFile;

/**
 * {@code samples/deploy}: {@code start} serves, {@code restart} returns once a new generation alone serves, and
 * {@code stop} returns once everything has exited, leaving only the log behind, in both hand-over modes;
 * {@code tls-deploy-hook} rotates the certificate.
 */
class DeployScriptsIT {
    private static final Duration STARTUP = Duration.ofSeconds(60);
    private static final Path KEYSTORE = Repo.root().resolve("samples/target/tls/keystore.p12");
    private static final int NOBODY = 65534;

    @ParameterizedTest(name = "{0}, READINESS={1}")
    @CsvSource({"jetty, notify", "undertow, slowstart"})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void startRestartStop(String app, String readiness, @TempDir Path state) throws Exception {
        int port = Ports.freeTcpPort();
        Map<String, String> env = Map.of("STATE_DIR", state.toString(), "PORT", Integer.toString(port),
                "READINESS", readiness);
        Path status = state.resolve("start_server.status");
        Process starter = script("start", env, state.resolve("start.out"), app).start();
        List<ProcessHandle> tree = List.of();
        try {
            // Listed once it counts as started: after its warm-up (notify), or after --interval (slow start).
            StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(1L)), STARTUP);
            assertEquals("1", generation(port));
            tree = starter.descendants().toList();

            Process restart = script("restart", env, state.resolve("restart.out")).start();
            assertTrue(restart.waitFor(150, TimeUnit.SECONDS), "deploy/restart did not return");
            assertEquals(0, restart.exitValue(), Files.readString(state.resolve("restart.out")) + outputs(state));
            assertEquals("2", generation(port));
            assertEquals(Set.of(2L), StatusFile.read(status).keySet(), "generations in the status file");
            tree = Stream.concat(tree.stream(), starter.descendants()).toList();

            Process stop = script("stop", env, state.resolve("stop.out")).start();
            assertTrue(stop.waitFor(60, TimeUnit.SECONDS), "deploy/stop did not return");
            assertEquals(0, stop.exitValue(), Files.readString(state.resolve("stop.out")));
            assertTrue(starter.waitFor(10, TimeUnit.SECONDS), "start_server still running after deploy/stop");
            assertEquals(List.of(), tree.stream().filter(ProcessHandle::isAlive).toList(), "workers left running");
            try (Stream<Path> left = Files.list(state)) {
                assertEquals(List.of("start_server.log"), left.map(p -> p.getFileName().toString())
                        .filter(name -> !name.endsWith(".out")).toList());
            }
        } finally {
            Stream.concat(tree.stream(), starter.descendants()).forEach(ProcessHandle::destroyForcibly);
            starter.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * {@code tls-deploy-hook}, run as root as certbot runs it, replaces the keystore of a service that runs as a user
     * of its own, which then restarts with the new certificate: the new file keeps the old one's owner and mode.
     */
    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void theTlsDeployHookRotatesTheCertificateOfAServiceRunAsItsOwnUser(@TempDir Path dir) throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root, to run the service as"
                + " nobody");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path state = Files.createDirectory(dir.resolve("state"));
        Files.setAttribute(state, "unix:uid", NOBODY);
        Path keystore = dir.resolve("keystore.p12");
        Files.copy(KEYSTORE, keystore);
        Files.setAttribute(keystore, "unix:uid", NOBODY);
        Files.setPosixFilePermissions(keystore, PosixFilePermissions.fromString("rw-------"));
        Path live = Files.createDirectory(dir.resolve("live"));
        Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=renewed", "-keyout", live.resolve("privkey.pem").toString(), "-out",
                live.resolve("fullchain.pem").toString()).redirectErrorStream(true).start();
        String made = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(openssl.waitFor(60, TimeUnit.SECONDS) && openssl.exitValue() == 0, made);
        SSLContext trusting = trusting(live.resolve("fullchain.pem"));

        int port = Ports.freeTcpPort();
        Map<String, String> env = Map.of("STATE_DIR", state.toString(), "PORT", Integer.toString(port),
                "READINESS", "notify", "SAMPLE_TLS", "1", "SAMPLE_TLS_KEYSTORE", keystore.toString());
        ProcessBuilder asNobody = script("start", env, state.resolve("start.out"), "jetty");
        asNobody.command(Stream.concat(Stream.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY,
                "--clear-groups"), asNobody.command().stream()).toList());
        Process starter = asNobody.start();
        List<ProcessHandle> tree = List.of();
        try {
            StatusFile.awaitGenerations(state.resolve("start_server.status"), g -> g.keySet().equals(Set.of(1L)),
                    STARTUP);
            assertEquals("CN=server-starter sample", subject(port, trusting));
            tree = starter.descendants().toList();

            Map<String, String> hookEnv = new HashMap<>(env);
            hookEnv.put("RENEWED_LINEAGE", live.toString());
            Process hook = script("tls-deploy-hook", hookEnv, dir.resolve("hook.out")).start();
            assertTrue(hook.waitFor(150, TimeUnit.SECONDS), "tls-deploy-hook did not return");
            // Before, the new keystore was root's alone: the new generation could not read it and never came up.
            assertEquals(0, hook.exitValue(), Files.readString(dir.resolve("hook.out")) + outputs(state));
            assertEquals("CN=renewed", subject(port, trusting));
            assertEquals(NOBODY, Files.getAttribute(keystore, "unix:uid"), "the keystore's owner");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keystore)));
            tree = Stream.concat(tree.stream(), starter.descendants()).toList();
        } finally {
            Stream.concat(tree.stream(), starter.descendants()).forEach(ProcessHandle::destroyForcibly);
            starter.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** The subject of the certificate a new TLS connection to {@code port} gets. */
    private static String subject(int port, SSLContext trusting) throws IOException {
        try (SSLSocket socket = (SSLSocket) trusting.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSubjectX500Principal()
                    .getName();
        }
    }

    /** A client context that trusts the samples' own certificate and the one in {@code pem}. */
    private static SSLContext trusting(Path pem) throws Exception {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        trusted.setCertificateEntry("sample", new Tls(KEYSTORE, Tls.DEFAULT_PASSWORD).load().getCertificate("sample"));
        try (InputStream in = Files.newInputStream(pem)) {
            trusted.setCertificateEntry("renewed", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context;
    }

    private static ProcessBuilder script(String name, Map<String, String> env, Path output, String... args) {
        List<String> command = Stream.concat(Stream.of(Repo.root().resolve("samples/deploy/" + name).toString()),
                Stream.of(args)).toList();
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(output.toFile());
        builder.environment().keySet().removeIf(k -> k.startsWith("SERVER_STARTER_") || k.equals("NOTIFY_SOCKET"));
        builder.environment().putAll(env);
        return builder;
    }

    private static String outputs(Path state) throws IOException {
        StringBuilder all = new StringBuilder();
        for (String name : List.of("start.out", "start_server.log")) {
            Path file = state.resolve(name);
            all.append("\n--- ").append(name).append(":\n").append(Files.exists(file) ? Files.readString(file) : "");
        }
        return all.toString();
    }

    /** The X-Generation of a fresh connection's answer, or "" while nothing answers. */
    private static String generation(int port) {
        try {
            String value = HttpClient.get(new InetSocketAddress("127.0.0.1", port), "/").header("X-Generation");
            return value == null ? "" : value;
        } catch (RuntimeException e) {
            return "";
        }
    }
}

package org.serverstarter.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Repo;

/**
 * A sample that cannot start says why in one line and exits with status 1, leaving nothing in its temporary
 * directory: the superdaemon starts a failed generation again every second, so each failure's output and leftovers
 * add up.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BadSettingsIT {
    private static final Path KEYSTORE = Repo.root().resolve("samples/target/tls/keystore.p12");

    @TempDir
    Path dir;

    /** A keystore replaced by something else than PKCS12 (a bad rename while rotating, say). */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"jetty", "undertow", "netty", "tomcat"})
    void aKeystoreThatIsNotOneIsOneLine(String app) throws Exception {
        Path corrupt = dir.resolve("keystore.p12");
        byte[] noise = new byte[700];
        new Random(7).nextBytes(noise);
        Files.write(corrupt, noise);
        String line = failedStart(app, Map.of("SAMPLE_TLS", "1", "SAMPLE_TLS_KEYSTORE", corrupt.toString()));
        assertTrue(line.startsWith(app + "-sample: cannot start: the keystore " + corrupt + " (SAMPLE_TLS_KEYSTORE)"
                + " cannot be read as PKCS12"), line);
    }

    @Test
    void aWrongKeystorePasswordIsOneLine() throws Exception {
        String line = failedStart("jetty", Map.of("SAMPLE_TLS", "1", "SAMPLE_TLS_KEYSTORE", KEYSTORE.toString(),
                "SAMPLE_TLS_PASSWORD", "not-the-password"));
        assertTrue(line.contains("SAMPLE_TLS_PASSWORD"), line);
    }

    /** Tomcat's base directory goes with a start that fails after it was made (an inherited fd that is no socket). */
    @Test
    void aTomcatThatCannotStartLeavesNoBaseDirectory() throws Exception {
        String line = failedStart("tomcat", Map.of("SERVER_STARTER_PORT", "127.0.0.1:" + Ports.freeTcpPort() + "=0"));
        assertTrue(line.contains("fd 0 is not a socket"), line);
    }

    /** Runs the sample with {@code env}, its stdin empty; returns its one line of output once it failed. */
    private String failedStart(String app, Map<String, String> env) throws IOException, InterruptedException {
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        Path output = dir.resolve("output");
        ProcessBuilder builder = new ProcessBuilder(Repo.root().resolve("samples/" + app + "/run").toString())
                .redirectErrorStream(true).redirectOutput(output.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        builder.environment().keySet().removeIf(k -> k.startsWith("SERVER_STARTER_") || k.startsWith("SAMPLE_"));
        builder.environment().put("PORT", Integer.toString(Ports.freeTcpPort()));
        builder.environment().put("JAVA_OPTS", "-Djava.io.tmpdir=" + tmp);
        builder.environment().putAll(env);
        Process sample = builder.start();
        try {
            assertTrue(sample.waitFor(60, TimeUnit.SECONDS), app + " still running");
        } finally {
            sample.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
        assertEquals(1, sample.exitValue(), String.join("\n", lines));
        assertEquals(1, lines.size(), "one line: " + String.join("\n", lines));
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.map(p -> p.getFileName().toString()).toList(), "left in java.io.tmpdir");
        }
        return lines.get(0);
    }
}

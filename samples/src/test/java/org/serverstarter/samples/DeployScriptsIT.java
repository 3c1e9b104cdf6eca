package org.serverstarter.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

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
 * {@code stop} returns once everything has exited, leaving only the log behind, in both hand-over modes.
 */
class DeployScriptsIT {
    private static final Duration STARTUP = Duration.ofSeconds(60);

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

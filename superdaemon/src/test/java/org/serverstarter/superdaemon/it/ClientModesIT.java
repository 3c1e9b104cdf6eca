package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * {@code --restart} and {@code --stop}, each client against each superdaemon: the pid file, its lock and the status
 * file are a protocol that must work across the two implementations.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ClientModesIT {

    static Stream<Arguments> pairs() {
        List<Arguments> pairs = new ArrayList<>();
        for (Superdaemon server : Superdaemon.available().toList()) {
            for (Superdaemon client : Superdaemon.available().toList()) {
                pairs.add(Arguments.of(server, client));
            }
        }
        return pairs.stream();
    }

    @ParameterizedTest(name = "{1} client against {0} server")
    @MethodSource("pairs")
    void restartThenStop(Superdaemon server, Superdaemon client, @TempDir Path dir) throws Exception {
        Path pid = dir.resolve("pid");
        Path status = dir.resolve("status");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = StarterProcess.start(server, Reports.args("--pid-file=" + pid,
                "--status-file=" + status), Map.of("REPORT_DIR", dir.toString()), dir)) {
            long first = Long.parseLong(reports.await(1).getProperty("pid"));
            StatusFile.awaitGenerations(status, g -> g.containsKey(1L), Reports.TIMEOUT);

            assertEquals(0, runClient(client, dir, "--restart", "--pid-file=" + pid, "--status-file=" + status));
            assertEquals(Map.of(2L, Long.parseLong(reports.await(2).getProperty("pid"))), StatusFile.read(status));
            reports.awaitSignal(first, "SIGTERM");

            assertEquals(0, runClient(client, dir, "--stop", "--pid-file=" + pid));
            // --stop returns once the lock is free, which happens after the last worker has exited.
            assertTrue(starter.output().contains("exiting"), starter.output());
            assertFalse(Files.exists(pid));
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
        }
    }

    private static int runClient(Superdaemon which, Path dir, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(which.executable().toString()));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("client.log").toFile()).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                throw new AssertionError("client " + String.join(" ", argv) + " did not finish");
            }
            return p.exitValue();
        } finally {
            p.destroyForcibly();
        }
    }
}

package org.serverstarter.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/** The new generation, not the superdaemon's timer, retires the old one ({@code --signal-on-hup=CONT}). */
class SlowStartIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @ParameterizedTest
    @MethodSource("org.serverstarter.testkit.Superdaemon#available")
    @Timeout(90)
    void newGenerationRetiresOnlyOlderOnes(Superdaemon superdaemon) throws Exception {
        Path status = dir.resolve("status");
        Path retire = dir.resolve("retire");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + Ports.freeTcpPort(),
                "--status-file=" + status, "--signal-on-hup=CONT", "--interval=1", "--"));
        args.addAll(ChildJava.command(EchoWorker.class, "blocking", "--retire-when=" + retire,
                "--status-file=" + status));

        try (StarterProcess starter = StarterProcess.start(superdaemon, args, Map.of(), dir)) {
            StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT);
            starter.signal("HUP");
            SortedMap<Long, Long> both = StatusFile.awaitGenerations(status,
                    g -> g.keySet().equals(Set.of(1L, 2L)), WAIT);
            starter.awaitOutput("worker ready gen=2 ", WAIT);
            // CONT reached generation 1 when generation 2 counted as started, and left it serving.
            assertTrue(ProcessHandle.of(both.get(1L)).map(ProcessHandle::isAlive).orElse(false));

            // Generation 1 acts first (it is the oldest, so it retires nobody), then generation 2.
            Files.createFile(Path.of(retire + "-1"));
            starter.awaitOutput("worker gen=1 retired \\[\\]$", WAIT);
            Files.createFile(Path.of(retire + "-2"));
            starter.awaitOutput("worker gen=2 retired \\[" + both.get(1L) + "\\]$", WAIT);
            StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(2L)), WAIT);
            assertTrue(ProcessHandle.of(both.get(2L)).map(ProcessHandle::isAlive).orElse(false));
        }
    }

    @Test
    @Timeout(30)
    void leavesProcessesOfAnotherParentAlone() throws Exception {
        Process stranger = new ProcessBuilder("sleep", "60").start();
        try {
            Path status = dir.resolve("status");
            Files.writeString(status, "1:" + stranger.pid() + "\n");
            assertEquals(List.of(), SlowStart.retireOlderGenerations(status, 5, "TERM"));
            assertTrue(stranger.isAlive());
        } finally {
            stranger.destroyForcibly();
        }
    }
}

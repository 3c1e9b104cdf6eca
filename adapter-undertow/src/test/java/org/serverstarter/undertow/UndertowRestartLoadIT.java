package org.serverstarter.undertow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.RestartLoad;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * Hot restarts of {@link UndertowWorker} under load lose no request. Besides clients that send back to back, the load
 * has keep-alive clients that pause between requests and clients that connect first and send later: a drain that
 * closes a connection the client has not closed itself (after a {@code Connection: close} answer) can close it under
 * a request the client is sending, and the client sees the connection close without a response.
 */
class UndertowRestartLoadIT {
    private static final Duration WAIT = Duration.ofSeconds(40);
    private static final int RESTARTS = 3;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.serverstarter.testkit.Superdaemon#available")
    @Timeout(150)
    void hotRestartsUnderLoadLoseNoRequest(Superdaemon superdaemon) throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(),
                "--status-file=" + status, "--interval=1", "--"));
        args.addAll(ChildJava.command(UndertowWorker.class));

        try (StarterProcess starter = StarterProcess.start(superdaemon, args, Map.of(), dir)) {
            long pid = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            starter.awaitOutput("worker " + pid + " serving", WAIT);
            List<Long> pids = new ArrayList<>(List.of(pid));
            try (RestartLoad load = new RestartLoad(address, List.of(0, 0, 20, 400, 1200, 2500), List.of(300, 1500))) {
                for (long gen = 2; gen <= RESTARTS + 1; gen++) {
                    long previous = pid;
                    Await.until("answers from generation " + (gen - 1) + " before the restart", WAIT,
                            () -> load.answersFrom(previous) >= 20);
                    starter.signal("HUP");
                    long next = gen;
                    pid = StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(next)), WAIT).get(next);
                    pids.add(pid);
                }
                long last = pid;
                Await.until("answers from the last generation", WAIT, () -> load.answersFrom(last) >= 20);
                load.close();
                String summary = "answers " + load.answersByBody + ", Connection: close answers "
                        + load.closesByBody;
                assertEquals(List.of(), load.failures, summary + "; output:\n" + starter.output());
                for (long retired : pids.subList(0, RESTARTS)) {
                    assertTrue(load.closesFrom(retired) > 0, "the load reached generation pid " + retired
                            + " while it drained; " + summary);
                    assertTrue(starter.output().contains("worker " + retired + " stopped, drained=true"),
                            "every connection of pid " + retired + " closed within the drain timeout; output:\n"
                                    + starter.output());
                }
            }
        }
    }
}

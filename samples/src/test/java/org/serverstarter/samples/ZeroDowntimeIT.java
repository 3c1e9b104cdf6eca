package org.serverstarter.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Repo;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * Each sample, started through its {@code samples/<name>/run} script under a superdaemon the way
 * {@code samples/deploy/start} does it (slow start: {@code --signal-on-hup=CONT}, {@code SLOW_START=1}), is
 * hot-restarted twice while two clients keep requesting; no request may fail, and the clients must see every
 * generation. A slow request sent before each HUP must still be answered by the generation it reached.
 */
class ZeroDowntimeIT {
    private static final int RESTARTS = 2;
    private static final Duration START_DEADLINE = Duration.ofSeconds(60);

    static Stream<Arguments> samplesUnderSuperdaemons() {
        return Superdaemon.available()
                .flatMap(d -> Stream.of("jetty", "undertow", "netty").map(app -> Arguments.of(d, app)));
    }

    @ParameterizedTest(name = "{1} under {0} start_server")
    @MethodSource("samplesUnderSuperdaemons")
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void hotRestartsLoseNoRequest(Superdaemon superdaemon, String app, @TempDir Path dir) throws Exception {
        int port = Ports.freeTcpPort();
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
        Path status = dir.resolve("start_server.status");
        List<String> args = List.of("--port=127.0.0.1:" + port, "--interval=1", "--signal-on-hup=CONT",
                "--status-file=" + status, "--", Repo.root().resolve("samples/" + app + "/run").toString());
        Map<String, String> env = Map.of("SLOW_START", "1", "SERVER_STARTER_STATUS_FILE", status.toString());
        try (StarterProcess starter = StarterProcess.start(superdaemon, args, env, dir)) {
            Await.until("the first generation to answer", START_DEADLINE, () -> answers(address));
            try (LoadLoop load = LoadLoop.start(address, 200_000, Duration.ofSeconds(150))) {
                Await.until("the clients to get answers", START_DEADLINE, () -> load.ok() > 0);
                for (int i = 1; i <= RESTARTS; i++) {
                    // The superdaemon writes a generation to the status file only once its --interval has passed.
                    long before = awaitGenerations(starter, status, gens -> gens.size() == 1).lastKey();
                    try (HttpConnection slow = HttpConnection.open(address)) {
                        // A first answer proves the old generation accepted this connection before the HUP.
                        assertEquals(Long.toString(before), slow.get("/").header("x-generation"));
                        slow.send("/sleep?ms=1500");
                        starter.signal("HUP");
                        SortedMap<Long, Long> after = awaitGenerations(starter, status,
                                gens -> gens.size() == 1 && gens.firstKey() > before);
                        HttpResponse slowResponse = slow.read();
                        assertEquals(200, slowResponse.status(), "the slow request in flight across HUP " + i);
                        assertEquals(Long.toString(before), slowResponse.header("x-generation"),
                                "the slow request is answered by the generation that accepted it");
                        long newest = after.firstKey();
                        Await.until("the clients to reach generation " + newest, START_DEADLINE,
                                () -> load.generations().contains(newest));
                    }
                }
                load.stop();
                assertEquals(List.of(), load.failures(), "failed requests (log:\n" + starter.output() + ")");
                Set<Long> seen = load.generations();
                assertEquals(RESTARTS + 1, seen.size(), "generations seen by the clients: " + seen);
                assertTrue(load.ok() > 0, "requests answered");
            }
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Duration.ofSeconds(60)), starter.output());
        }
    }

    private static SortedMap<Long, Long> awaitGenerations(StarterProcess starter, Path status,
            Predicate<SortedMap<Long, Long>> condition) {
        try {
            return StatusFile.awaitGenerations(status, condition, START_DEADLINE);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\nstart_server output:\n" + starter.output(), e);
        }
    }

    private static boolean answers(InetSocketAddress address) {
        try {
            return HttpClient.get(address, "/").status() == 200;
        } catch (UncheckedIOException e) {
            return false;
        }
    }
}

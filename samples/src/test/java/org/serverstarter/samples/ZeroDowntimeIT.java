package org.serverstarter.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
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
 * Each sample, started through its {@code samples/<name>/run} script, is hot-restarted while two clients keep
 * requesting (once: the adapters' contract tests and {@code bench/zero-downtime} restart many times); no request may
 * fail, and the clients must see every generation. A slow request sent before the HUP must still be answered by the
 * generation it reached. Two ways to retire the old generation only once the new one
 * is warm: slow start ({@code --signal-on-hup=CONT}, {@code SLOW_START=1}) under both superdaemons, and our
 * start_server's {@code --readiness=notify}.
 */
class ZeroDowntimeIT {
    private static final int RESTARTS = 1;
    private static final Duration START_DEADLINE = Duration.ofSeconds(60);
    /** A sample's line once its server runs: "jetty-sample: generation 2 pid 4711 serving ...". */
    private static final Pattern SERVING = Pattern.compile(".*: generation (\\d+) pid (\\d+) serving .*");

    static Stream<Arguments> samplesUnderSuperdaemons() {
        return Superdaemon.available()
                .flatMap(d -> Stream.of("jetty", "undertow", "netty", "tomcat").map(app -> Arguments.of(d, app)));
    }

    @ParameterizedTest(name = "{1} under {0} start_server, slow start")
    @MethodSource("samplesUnderSuperdaemons")
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void hotRestartsLoseNoRequest(Superdaemon superdaemon, String app, @TempDir Path dir) throws Exception {
        int port = Ports.freeTcpPort();
        Path status = dir.resolve("start_server.status");
        List<String> args = List.of("--port=127.0.0.1:" + port, "--interval=1", "--signal-on-hup=CONT",
                "--status-file=" + status, "--", Repo.root().resolve("samples/" + app + "/run").toString());
        Map<String, String> env = Map.of("SLOW_START", "1", "SERVER_STARTER_STATUS_FILE", status.toString());
        try (StarterProcess starter = StarterProcess.start(superdaemon, args, env, dir)) {
            restartUnderLoad(starter, new InetSocketAddress("127.0.0.1", port), status);
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Duration.ofSeconds(60)), starter.output());
        }
    }

    /**
     * Our start_server with {@code --readiness=notify} and no slow start: the superdaemon alone retires the old
     * generation, and only once the new one has sent {@code READY=1}, which the sample sends after its warm-up.
     */
    @ParameterizedTest(name = "{0} under our start_server, --readiness=notify")
    @ValueSource(strings = {"jetty", "undertow", "netty", "tomcat"})
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void readinessGatedRestartsLoseNoRequest(String app, @TempDir Path dir) throws Exception {
        assumeTrue(Superdaemon.JAVA.isAvailable(), "superdaemon/target/start_server.jar is not built");
        int port = Ports.freeTcpPort();
        Path status = dir.resolve("start_server.status");
        List<String> args = List.of("--port=127.0.0.1:" + port, "--readiness=notify", "--ready-timeout=60",
                "--status-file=" + status, "--", Repo.root().resolve("samples/" + app + "/run").toString());
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args, Map.of(), dir)) {
            restartUnderLoad(starter, new InetSocketAddress("127.0.0.1", port), status);
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Duration.ofSeconds(60)), starter.output());
            assertOldRetiredOnlyAfterNewWarmedUp(starter.output());
        }
    }

    /**
     * Restarts {@value #RESTARTS} times while {@link LoadLoop} requests; no request may fail, the clients must see
     * every generation, and a slow request sent before each HUP must be answered by the generation it reached.
     */
    private static void restartUnderLoad(StarterProcess starter, InetSocketAddress address, Path status)
            throws Exception {
        Await.until("the first generation to answer", START_DEADLINE, () -> answers(address));
        // Bounded by time first: a count that a fast client reaches before two slow-start restarts have finished
        // on a loaded machine would stop the load, and no answer from the newest generation could ever arrive.
        try (LoadLoop load = LoadLoop.start(address, 5_000_000, Duration.ofSeconds(170))) {
            Await.until("the clients to get answers", START_DEADLINE, () -> load.ok() > 0);
            for (int i = 1; i <= RESTARTS; i++) {
                // The superdaemon lists a generation in the status file only once it counts as started.
                long before = awaitGenerations(starter, status, gens -> gens.size() == 1).lastKey();
                // Closed once answered, as an HTTP client does: a draining generation waits for its clients to
                // close (Jetty's, until its drain timeout), so holding this one open would only slow the test.
                try (HttpConnection slow = HttpConnection.open(address)) {
                    // A first answer proves the old generation accepted this connection before the HUP.
                    assertEquals(Long.toString(before), slow.get("/").header("x-generation"));
                    slow.send("/sleep?ms=1500");
                    starter.signal("HUP");
                    HttpResponse slowResponse = slow.read();
                    assertEquals(200, slowResponse.status(), "the slow request in flight across HUP " + i);
                    assertEquals(Long.toString(before), slowResponse.header("x-generation"),
                            "the slow request is answered by the generation that accepted it");
                }
                long newest = awaitGenerations(starter, status,
                        gens -> gens.size() == 1 && gens.firstKey() > before).firstKey();
                Await.until("the clients to reach generation " + newest, START_DEADLINE,
                        () -> load.generations().contains(newest));
            }
            load.stop();
            assertEquals(List.of(), load.failures(), "failed requests (log:\n" + starter.output() + ")");
            Set<Long> seen = load.generations();
            assertEquals(RESTARTS + 1, seen.size(), "generations seen by the clients: " + seen);
            assertTrue(load.ok() > 0, "requests answered");
        }
    }

    /**
     * In start_server's log (the workers write to the same file), each {@code killing old workers} must follow the
     * new worker's own "warmed up" line and then the superdaemon's "new worker P is ready": the old generation was
     * signalled only once the new one had warmed up and said so. Had the adapter sent {@code READY=1} as soon as
     * it accepted, "is ready" would come before "warmed up".
     */
    static void assertOldRetiredOnlyAfterNewWarmedUp(String log) {
        List<String> lines = log.lines().toList();
        int kills = 0;
        for (int kill = 0; kill < lines.size(); kill++) {
            if (!lines.get(kill).equals("killing old workers")) {
                continue;
            }
            kills++;
            int spawn = lastIndexStartingWith(lines, kill, "starting new worker ");
            assertTrue(spawn >= 0, "no \"starting new worker\" before line " + kill + " of:\n" + log);
            String pid = lines.get(spawn).substring("starting new worker ".length()).trim();
            List<String> between = lines.subList(spawn, kill);
            String generation = between.stream()
                    .map(line -> SERVING.matcher(line))
                    .filter(m -> m.matches() && m.group(2).equals(pid))
                    .map(m -> m.group(1))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("worker " + pid + " never said it serves:\n" + log));
            int warmedUp = indexContaining(between, ": generation " + generation + " warmed up in ");
            int ready = between.indexOf("new worker " + pid + " is ready");
            assertTrue(ready >= 0, "the old generation was signalled before worker " + pid + " was ready:\n" + log);
            assertTrue(warmedUp >= 0 && warmedUp < ready,
                    "worker " + pid + " was counted ready before its warm-up ended:\n" + log);
        }
        assertEquals(RESTARTS, kills, "\"killing old workers\" lines in:\n" + log);
    }

    private static int lastIndexStartingWith(List<String> lines, int before, String prefix) {
        for (int i = before - 1; i >= 0; i--) {
            if (lines.get(i).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    private static int indexContaining(List<String> lines, String text) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                return i;
            }
        }
        return -1;
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

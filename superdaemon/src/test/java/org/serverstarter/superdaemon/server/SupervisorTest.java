package org.serverstarter.superdaemon.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.serverstarter.superdaemon.cli.CommandLine;
import org.serverstarter.superdaemon.posix.Signals;
import org.serverstarter.superdaemon.server.FakeOs.Script;

/**
 * The supervisor's decisions against a {@link FakeOs}: no process, no sleep; time passes only when it waits. Each
 * case runs in milliseconds however many seconds it covers.
 */
@Timeout(value = 5, unit = TimeUnit.SECONDS)
class SupervisorTest {
    private final List<String> log = new ArrayList<>();

    private void run(FakeOs os, String... options) throws Exception {
        long interval = 1;
        long killTimeout = 0;
        long maxBackoff = 0;
        long readyTimeout = 0;
        for (String option : options) {
            String[] kv = option.split("=");
            long value = Long.parseLong(kv[1]);
            switch (kv[0]) {
                case "--interval" -> interval = value;
                case "--kill-timeout" -> killTimeout = value;
                case "--max-backoff" -> maxBackoff = value;
                case "--ready-timeout" -> readyTimeout = value;
                default -> throw new IllegalArgumentException(option);
            }
        }
        Supervisor.Settings settings = new Supervisor.Settings("/bin/worker", List.of("worker"), null, interval,
                "TERM", Signals.TERM, "TERM", Signals.TERM, "8080=3", List.of(), killTimeout, maxBackoff,
                readyTimeout, 0);
        Environment environment = new Environment(Map.of(), CommandLine.parse("--", "worker"));
        new Supervisor(settings, environment, null, os, log::add).run();
    }

    private List<String> lines(String prefix) {
        return log.stream().filter(l -> l.startsWith(prefix)).toList();
    }

    @Test
    void aWorkerThatDiesDuringTheIntervalHasFailedAndIsRetriedAnIntervalLater() throws Exception {
        FakeOs os = new FakeOs().workers(Script.serving().exits(300, 1)).otherwise(Script.serving().drains(10))
                .signalAt(5_000, "TERM");
        run(os, "--interval=2");
        assertEquals(List.of(100L, 101L), os.spawned);
        assertEquals(List.of("new worker 100 seems to have failed to start, exit status:256"),
                lines("new worker 100"));
        assertEquals(List.of("TERM -101"), os.sent);
        assertEquals("exiting", log.get(log.size() - 1));
    }

    @Test
    void aHupDuringTheReadinessWaitMakesOneMoreRestartAfterIt() throws Exception {
        // Generation 2 takes 3 s to be ready; three HUPs arrive meanwhile.
        FakeOs os = new FakeOs().workers(Script.serving().ready(100).drains(50),
                        Script.serving().ready(3_000).drains(50))
                .otherwise(Script.serving().ready(100).drains(50))
                .signalAt(1_000, "HUP").signalAt(1_500, "HUP").signalAt(2_000, "HUP").signalAt(2_500, "HUP")
                .signalAt(10_000, "TERM");
        run(os, "--ready-timeout=60");
        assertEquals(List.of(100L, 101L, 102L), os.spawned, String.join("\n", log));
        assertEquals(2, lines("received HUP").size());
        assertTrue(log.indexOf("new worker 101 is ready") < log.indexOf("killing old workers"));
        assertEquals(List.of("TERM -100", "TERM -101", "TERM -102"), os.sent);
    }

    @Test
    void termStopsTheCurrentAndTheDrainingWorkersAndWaitsForAll() throws Exception {
        FakeOs os = new FakeOs().workers(Script.serving().drains(5_000), Script.serving().drains(1_000))
                .signalAt(2_000, "HUP").signalAt(4_000, "TERM");
        run(os, "--interval=1");
        assertEquals(List.of("TERM -100", "TERM -100", "TERM -101"), os.sent);
        assertEquals("received TERM, sending TERM to all workers:100,101", lines("received TERM").get(0));
        assertTrue(log.indexOf("worker 100 died, status:0") < log.indexOf("exiting"));
        assertTrue(os.elapsedMillis() >= 7_000, "waited for the old worker's drain: " + os.elapsedMillis());
        assertFalse(os.isRunning(100) || os.isRunning(101));
    }

    @Test
    void aNewWorkerThatMissesTheReadyTimeoutIsStoppedAndTheOldOneServesOn() throws Exception {
        FakeOs os = new FakeOs().workers(Script.serving().ready(100).drains(10), Script.serving().drains(10),
                        Script.serving().ready(100).drains(10))
                .signalAt(1_000, "HUP").signalAt(10_000, "TERM");
        run(os, "--ready-timeout=3", "--interval=1");
        assertEquals(List.of("new worker 101 did not send READY=1 within 3 secs, sending TERM"),
                lines("new worker 101 did not"));
        assertEquals("old worker 101 died, status:0", lines("old worker 101").get(0));
        assertTrue(log.indexOf("old worker 101 died, status:0") < log.indexOf("new worker 102 is ready"));
        assertEquals(List.of("TERM -101", "TERM -100", "TERM -102"), os.sent);
    }

    @Test
    void failedStartsBackOffOneTwoFourThenTheCeiling() throws Exception {
        FakeOs os = new FakeOs().workers(Script.serving().exits(10, 1), Script.serving().exits(10, 1),
                        Script.serving().exits(10, 1), Script.serving().exits(10, 1), Script.serving().exits(10, 1))
                .otherwise(Script.serving().drains(10)).signalAt(60_000, "TERM");
        run(os, "--interval=1", "--max-backoff=4");
        assertEquals(List.of("backing off 1 secs before the next attempt", "backing off 2 secs before the next attempt",
                "backing off 4 secs before the next attempt", "backing off 4 secs before the next attempt",
                "backing off 4 secs before the next attempt"), lines("backing off"));
        assertEquals(6, os.spawned.size());
    }

    @Test
    void killComesAtTheFirstDeadlineEvenWhileTheNextGenerationBoots() throws Exception {
        // Generation 1 ignores TERM; generation 3 takes 8 s to be ready.
        FakeOs os = new FakeOs().workers(Script.serving().ready(100).drains(-1), Script.serving().ready(100)
                        .drains(-1), Script.serving().ready(8_000).drains(-1))
                .signalAt(1_000, "HUP").signalAt(1_500, "HUP").signalAt(20_000, "TERM");
        run(os, "--ready-timeout=60", "--kill-timeout=2");
        int killed = log.indexOf("worker 100 is still running 2 secs after it was signalled, sending KILL");
        assertTrue(killed >= 0 && killed < log.indexOf("new worker 102 is ready"), String.join("\n", log));
        assertEquals(List.of("TERM -100", "KILL -100", "TERM -101", "KILL -101", "TERM -102", "KILL -102"),
                os.sent);
    }

    @Test
    void aLaterHupDoesNotPushAKillDeadlineBack() throws Exception {
        // Generation 1 ignores TERM: signalled at 1.1 s, it is due for KILL at 3.1 s, whatever the HUP at 2 s does.
        FakeOs os = new FakeOs().workers(Script.serving().ready(100).drains(-1))
                .otherwise(Script.serving().ready(100).drains(10))
                .signalAt(1_000, "HUP").signalAt(2_000, "HUP").signalAt(10_000, "TERM");
        run(os, "--ready-timeout=60", "--kill-timeout=2");
        assertEquals(List.of("TERM -100", "TERM -100", "TERM -101", "KILL -100", "TERM -102"), os.sent);
        assertEquals(3_100, os.sentAt.get(os.sent.indexOf("KILL -100")));
    }

    @Test
    void aStormOfHupsIsOneRestartPerRestartInProgress() throws Exception {
        FakeOs os = new FakeOs().otherwise(Script.serving().drains(10));
        for (int i = 0; i < 50; i++) {
            os.signalAt(2_000 + 40L * i, "HUP");
        }
        os.signalAt(30_000, "TERM");
        run(os, "--interval=1");
        // 50 HUPs over 2 s, 1 s per restart: one restart running, one queued behind it, at any moment.
        assertTrue(lines("received HUP").size() <= 3, String.join("\n", log));
        assertEquals(lines("received HUP").size() + 1, os.spawned.size());
    }

    @Test
    void aWorkerKilledByTheTermThatStopsUsIsNotRespawned() throws Exception {
        FakeOs os = new FakeOs().workers(Script.serving().exits(2_000, 0)).signalAt(2_000, "TERM");
        run(os, "--interval=1");
        assertEquals(List.of(100L), os.spawned);
        assertEquals(List.of(), lines("worker 100 died unexpectedly"));
    }
}

package org.serverstarter.superdaemon.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
    private Supervisor supervisor;
    /** Snapshots taken by {@link #look}, by the test time they were taken at. */
    private final Map<Long, Status> seen = new TreeMap<>();

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
        supervisor = new Supervisor(settings, environment, null, os, log::add);
        supervisor.run();
    }

    /** Takes the published status at {@code millis}, as the status socket's thread would. */
    private void look(FakeOs os, long... millis) {
        for (long at : millis) {
            os.atMillis(at, () -> seen.put(at, supervisor.status()));
        }
    }

    /** The workers of a snapshot as "pid:generation:role", by generation. */
    private static List<String> roles(Status status) {
        return status.workers().stream().map(w -> w.pid() + ":" + w.generation() + ":" + w.role().label()).toList();
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
    void aWorkerEndedByATermThatReachesUsLaterIsNotRespawned() throws Exception {
        // A TERM to the whole cgroup: the worker exits with 143 before our own handler has posted the TERM.
        FakeOs os = new FakeOs().workers(Script.serving().exits(3_000, 143)).otherwise(Script.serving().drains(10))
                .signalAt(3_300, "TERM");
        run(os, "--interval=1");
        assertEquals(List.of(100L), os.spawned, String.join("\n", log));
        assertEquals(List.of("worker 100 died, status:36608"), lines("worker 100 died"));
        assertEquals("exiting", log.get(log.size() - 1));
    }

    @Test
    void aWorkerEndedByATermNoOneSentUsIsRespawnedAfterTheGrace() throws Exception {
        FakeOs os = new FakeOs().workers(Script.serving().exits(3_000, 143)).otherwise(Script.serving().drains(10))
                .signalAt(10_000, "TERM");
        run(os, "--interval=1");
        assertEquals(List.of(100L, 101L), os.spawned, String.join("\n", log));
        assertEquals(List.of("worker 100 died unexpectedly with status:36608, restarting"),
                lines("worker 100 died"));
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

    @Test
    void theStatusFollowsAReadinessGatedRestart() throws Exception {
        // Generation 2 is spawned at the HUP (1 s) and ready 3 s later; generation 1 drains for 1 s after its TERM.
        FakeOs os = new FakeOs().workers(Script.serving().ready(100).drains(1_000),
                        Script.serving().ready(3_000).drains(1_000))
                .signalAt(1_000, "HUP").signalAt(10_000, "TERM");
        look(os, 50, 500, 2_000, 4_500, 6_000, 10_500);
        run(os, "--ready-timeout=60");

        assertEquals(Status.State.STARTING, seen.get(50L).state());
        assertEquals(List.of("100:1:starting"), roles(seen.get(50L)));

        Status steady = seen.get(500L);
        assertEquals(Status.State.RUNNING, steady.state());
        assertEquals(List.of("100:1:current"), roles(steady));
        assertEquals(1, steady.currentGeneration());
        assertEquals(Status.Counters.ZERO, steady.counters());
        assertEquals(null, steady.lastRestart());

        Status during = seen.get(2_000L);
        assertEquals(Status.State.RESTARTING, during.state());
        assertEquals(List.of("100:1:current", "101:2:starting"), roles(during), "the old one serves until 2 is ready");
        assertEquals(1, during.currentGeneration());
        assertEquals("in_progress", during.lastRestart().outcome());
        assertEquals(1, during.counters().restartsAsked());
        assertEquals(0, during.counters().restartsDone());

        Status after = seen.get(4_500L);
        assertEquals(Status.State.RUNNING, after.state());
        assertEquals(List.of("100:1:old", "101:2:current"), roles(after));
        Status.Worker old = after.workers().get(0);
        assertEquals(after.lastRestart().finishedAtMillis(), old.signalledAtMillis(), "signalled when 2 was ready");
        assertEquals(0, after.workers().get(1).signalledAtMillis());
        assertEquals(new Status.LastRestart("HUP", "done", old.startedAtMillis() + 1_000, old.startedAtMillis() + 4_000,
                3_000, 2, 0), after.lastRestart());
        assertEquals(1, after.counters().restartsDone());
        assertEquals(3_000, after.counters().readyMillisSum());
        assertEquals(1L, after.counters().readyBuckets().get(Status.Counters.READY_BUCKETS_SECONDS.indexOf(5.0)),
                "3 s falls in the bucket up to 5 s");

        assertEquals(List.of("101:2:current"), roles(seen.get(6_000L)));
        Status stopping = seen.get(10_500L);
        assertEquals(Status.State.STOPPING, stopping.state());
        assertEquals(List.of("101:2:old"), roles(stopping));
    }

    @Test
    void failedStartsAndKillsAreCounted() throws Exception {
        // After the HUP: generation 2 exits at once, 3 never says READY=1, 4 is ready. Generation 1 ignores TERM.
        FakeOs os = new FakeOs().workers(Script.serving().ready(100).drains(-1), Script.serving().exits(200, 1),
                        Script.serving().drains(10), Script.serving().ready(100).drains(10))
                .signalAt(1_000, "HUP").signalAt(20_000, "TERM");
        look(os, 2_500, 15_000);
        run(os, "--ready-timeout=2", "--interval=1", "--kill-timeout=3");

        Status during = seen.get(2_500L);
        assertEquals(Status.State.RESTARTING, during.state());
        assertEquals(List.of("100:1:current", "102:3:starting"), roles(during));
        assertEquals(1, during.counters().exitedEarly());
        assertEquals("in_progress", during.lastRestart().outcome());
        assertEquals(1, during.lastRestart().failedAttempts(), "counted as they fail, not once the restart is done");

        Status after = seen.get(15_000L);
        assertEquals(List.of("103:4:current"), roles(after));
        assertEquals(1, after.counters().exitedEarly());
        assertEquals(1, after.counters().timedOut());
        assertEquals(1, after.counters().killsSent(), "generation 1 ignored its TERM");
        assertEquals(1, after.counters().restartsDone());
        assertEquals("done", after.lastRestart().outcome());
        assertEquals(2, after.lastRestart().failedAttempts());
        assertEquals(4, after.lastRestart().generation());
    }

    @Test
    void hupsFoldedIntoOneRestartAreAllCountedAsAsked() throws Exception {
        FakeOs os = new FakeOs().workers(Script.serving().ready(100).drains(10), Script.serving().ready(2_000)
                        .drains(10)).otherwise(Script.serving().ready(100).drains(10))
                .signalAt(1_000, "HUP").signalAt(1_500, "HUP").signalAt(1_600, "HUP").signalAt(10_000, "TERM");
        look(os, 9_000);
        run(os, "--ready-timeout=60");
        Status status = seen.get(9_000L);
        assertEquals(3, status.counters().restartsAsked());
        assertEquals(2, status.counters().restartsDone(), "one restart, then one more for the HUPs during it");
        assertEquals(3, status.currentGeneration());
    }

    @Test
    void theCountersSurviveTheirOneLineForm() {
        Status.Counters counters = Status.Counters.ZERO.plusRestartAsked().plusRestartAsked().plusRestartDone(420)
                .plusRestartDone(70_000).plusExitedEarly().plusTimedOut().plusExecFailed().plusDiedUnexpectedly()
                .plusKillSent();
        assertEquals(counters, Status.Counters.decode(counters.encode()));
        assertEquals(Status.Counters.ZERO, Status.Counters.decode("2 1 2 3"), "another layout is not guessed at");
        assertEquals(Status.Counters.ZERO, Status.Counters.decode("garbage"));
    }
}

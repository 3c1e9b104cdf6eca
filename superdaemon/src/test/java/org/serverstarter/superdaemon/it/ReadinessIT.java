package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;

/**
 * {@code --readiness=notify}: a new generation counts as started when it sends READY=1 over NOTIFY_SOCKET (the
 * sd_notify protocol), from its own process tree, within {@code --ready-timeout}; otherwise the old one keeps
 * serving.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ReadinessIT {
    @TempDir
    Path dir;

    private ReadyWorkers workers;

    @BeforeEach
    void workers() {
        workers = new ReadyWorkers(dir);
    }

    @Test
    void theOldGenerationIsRetiredOnlyWhenTheNewOneIsReady() throws Exception {
        Path status = dir.resolve("status");
        // READY=1 comes 3 s after start, well after the 1 s interval that Perl's judging would wait.
        try (StarterProcess starter = workers.start(Map.of("READY_DELAY", "3"), "--readiness=notify",
                "--status-file=" + status, "--interval=1")) {
            long first = workers.pidOf(1);
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(1L, first)), Reports.TIMEOUT);
            assertTrue(starter.output().contains("new worker " + first + " is ready"));
            starter.signal("HUP");
            long second = workers.pidOf(2);
            Await.until("generation 2 ready", Reports.TIMEOUT,
                    () -> starter.output().contains("new worker " + second + " is ready"));
            starter.awaitOutput("killing old workers", Reports.TIMEOUT); // logged just after the status file update
            String out = starter.output();
            assertTrue(out.indexOf("new worker " + second + " is ready") < out.indexOf("killing old workers"), out);
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(2L, second)), Reports.TIMEOUT);
        }
    }

    @Test
    void aGenerationThatMissesTheDeadlineIsStoppedAndTheOldOneKeepsServing() throws Exception {
        Path status = dir.resolve("status");
        try (StarterProcess starter = workers.start(Map.of("SILENT_GENERATIONS", "2", "FAIL_GENERATIONS", "3",
                "READY_DELAY", "0.2"), "--readiness=notify", "--ready-timeout=2", "--status-file=" + status)) {
            long first = workers.pidOf(1);
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(1L, first)), Reports.TIMEOUT);
            starter.signal("HUP");
            long second = workers.pidOf(2);
            starter.awaitOutput("new worker " + second + " did not send READY=1 within 2 secs, sending TERM",
                    Reports.TIMEOUT);
            long third = workers.pidOf(3);
            starter.awaitOutput("new worker " + third + " seems to have failed to start, exit status:256",
                    Reports.TIMEOUT);
            long fourth = workers.pidOf(4);
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(4L, fourth)), Reports.TIMEOUT);
            starter.awaitOutput("killing old workers", Reports.TIMEOUT);
            String out = starter.output();
            assertTrue(out.contains("old worker " + second + " died"), out);
            assertTrue(out.indexOf("new worker " + fourth + " is ready") < out.indexOf("killing old workers"), out);
            assertTrue(out.contains("sending TERM to old workers:" + first), out);
        }
    }

    /**
     * Perl judges a worker after sleeping --interval, so a program that exits at once is retried once per interval.
     * With readiness the exit is seen at once, and without pacing it was respawned some 70 times a second.
     */
    @Test
    void aWorkerThatExitsAtOnceIsRetriedOncePerInterval() throws Exception {
        Path status = dir.resolve("status");
        try (StarterProcess starter = workers.start(Map.of("FAIL_GENERATIONS", "1,2", "READY_DELAY", "0"),
                "--readiness=notify", "--interval=2", "--status-file=" + status)) {
            long third = workers.pidOf(3);
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(3L, third)), Reports.TIMEOUT);
            String out = starter.output();
            assertTrue(out.contains("new worker " + workers.pidOf(1) + " seems to have failed to start"), out);
            long firstToSecond = startedAt(2) - startedAt(1);
            long secondToThird = startedAt(3) - startedAt(2);
            assertTrue(firstToSecond >= 1500 && secondToThird >= 1500,
                    "attempts " + firstToSecond + " and " + secondToThird + " ms apart with --interval=2");
        }
    }

    /** When the worker of {@code generation} wrote its pid file, in epoch milliseconds. */
    private long startedAt(long generation) throws IOException {
        return Files.getLastModifiedTime(dir.resolve("pid-" + generation)).toMillis();
    }

    @Test
    void readyFromAProcessTheWorkerStartedCounts() throws Exception {
        Path status = dir.resolve("status");
        try (StarterProcess starter = workers.start(Map.of("VIA_CHILD", "1"), "--readiness=notify",
                "--status-file=" + status)) {
            long first = workers.pidOf(1);
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(1L, first)), Reports.TIMEOUT);
        }
    }

    @Test
    void readyFromAnyoneElseIsIgnored() throws Exception {
        Path status = dir.resolve("status");
        try (StarterProcess starter = workers.start(Map.of("SILENT_GENERATIONS", "1"), "--readiness=notify",
                "--ready-timeout=4", "--status-file=" + status)) {
            long first = workers.pidOf(1);
            Await.until("the worker's NOTIFY_SOCKET", Reports.TIMEOUT, () -> workers.notifySocket(1).startsWith("@"));
            // Another user can reach the abstract socket, but neither they nor anyone outside the worker's tree counts.
            Process impostor = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    Reports.SYSTEM_PYTHON, "-c", "import socket,sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)"
                    + ".sendto(b'READY=1', '\\0' + sys.argv[1][1:])", workers.notifySocket(1)).start();
            assertEquals(0, impostor.waitFor());
            starter.awaitOutput("new worker " + first + " did not send READY=1 within 4 secs", Reports.TIMEOUT);
            assertFalse(Files.exists(status) && StatusFile.read(status).containsKey(1L)
                    && starter.output().contains("new worker " + first + " is ready"));
        }
    }

    @Test
    void perlsJudgingStaysTheDefault() throws Exception {
        try (StarterProcess starter = workers.start(Map.of("SILENT_GENERATIONS", "1"), "--interval=1")) {
            long first = workers.pidOf(1);
            assertEquals("", workers.notifySocket(1));
            starter.signal("HUP");
            long second = workers.pidOf(2);
            starter.awaitOutput("new worker is now running, sending TERM to old workers:" + first, Reports.TIMEOUT);
            assertTrue(second > 0);
        }
    }
}

package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;

/**
 * {@code --new-worker-nice}: every worker leads a session of its own, and a new worker that starts beside a serving
 * one has its autogroup at the given nice value until it counts as started, then 0.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NewWorkerNiceIT {
    @TempDir
    Path dir;

    @BeforeAll
    static void kernelHasAutogroups() {
        assumeTrue(Files.exists(Path.of("/proc/self/autogroup")), "a kernel with autogroup scheduling");
    }

    private ReadyWorkers workers;

    @BeforeEach
    void workers() {
        workers = new ReadyWorkers(dir);
    }

    @Test
    void aNewWorkerStartsAtTheNiceValueBesideTheServingOneAndServesAtZero() throws Exception {
        Path status = dir.resolve("status");
        // READY=1 comes 3 s after start: time to look at the new worker before it counts as started.
        try (StarterProcess starter = workers.start(Map.of("READY_DELAY", "3"), "--readiness=notify",
                "--new-worker-nice=17", "--status-file=" + status)) {
            long first = workers.pidOf(1);
            assertEquals(first, sessionOf(first));
            assertEquals(0, autogroupNice(first), "the first generation has nothing to yield to");
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(1L, first)), Reports.TIMEOUT);

            starter.signal("HUP");
            long second = workers.pidOf(2);
            assertEquals(second, sessionOf(second));
            Await.until("generation 2 at nice 17 while it starts", Reports.TIMEOUT, () -> autogroupNice(second) == 17);
            assertEquals(0, autogroupNice(first));
            starter.awaitOutput("killing old workers", Reports.TIMEOUT);
            assertEquals(0, autogroupNice(second), "back to 0 before the old generation is signalled");
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(2L, second)), Reports.TIMEOUT);
        }
    }

    @Test
    void withPerlsIntervalTheNewWorkerIsAtZeroOnceTheIntervalHasPassed() throws Exception {
        Path status = dir.resolve("status");
        // Without --readiness=notify there is no NOTIFY_SOCKET to send READY=1 to.
        try (StarterProcess starter = workers.start(Map.of("SILENT_GENERATIONS", "1,2"), "--interval=3",
                "--new-worker-nice=19", "--status-file=" + status)) {
            long first = workers.pidOf(1);
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(1L, first)), Reports.TIMEOUT);
            starter.signal("HUP");
            long second = workers.pidOf(2);
            Await.until("generation 2 at nice 19 during the interval", Reports.TIMEOUT,
                    () -> autogroupNice(second) == 19);
            starter.awaitOutput("killing old workers", Reports.TIMEOUT);
            assertEquals(0, autogroupNice(second));
        }
    }

    @Test
    void withoutTheOptionWorkersStayInTheSuperdaemonsSession() throws Exception {
        try (StarterProcess starter = workers.start(Map.of("SILENT_GENERATIONS", "1"), "--interval=1")) {
            long first = workers.pidOf(1);
            assertNotEquals(first, sessionOf(first));
            assertEquals(sessionOf(starter.pid()), sessionOf(first));
        }
    }

    /** The sixth field of /proc/PID/stat; the command name before it is in parentheses and may hold spaces. */
    private static long sessionOf(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[3]);
    }

    /** From "/autogroup-123 nice 17"; -1 when the process has gone. */
    private static int autogroupNice(long pid) {
        try {
            String line = Files.readString(Path.of("/proc", Long.toString(pid), "autogroup")).trim();
            return Integer.parseInt(line.substring(line.lastIndexOf(' ') + 1));
        } catch (IOException e) {
            return -1;
        }
    }
}

package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;

/**
 * What a review as a hostile local user found after the first round of hardening: clients that followed a planted
 * name to another instance's pid file, FIFOs that hung start_server or its clients, a lock any reader could take,
 * names the JVM could not encode.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HardeningClientsIT {
    @TempDir
    Path dir;

    @Test
    void clientsFollowNoLinkOrSecondNameToAnotherInstancesPidFile() throws Exception {
        Path pid = dir.resolve("b.pid");
        Path status = dir.resolve("b.status");
        Reports reports = new Reports(dir);
        try (StarterProcess other = Reports.start(dir, Map.of(), "--pid-file=" + pid, "--status-file=" + status)) {
            reports.await(1);
            StatusFile.awaitGenerations(status, g -> g.size() == 1, Reports.TIMEOUT);
            Path link = Files.createSymbolicLink(dir.resolve("a.pid"), pid);
            OneShot viaLink = OneShot.run(dir, Map.of(), "--stop", "--pid-file=" + link);
            assertEquals(40, viaLink.status(), viaLink.output());
            assertEquals("failed to open file:" + link + ":Too many levels of symbolic links",
                    viaLink.output().strip());
            Path hardLink = Files.createLink(dir.resolve("c.pid"), pid);
            Path statusLink = Files.createSymbolicLink(dir.resolve("c.status"), status);
            OneShot viaHardLink = OneShot.run(dir, Map.of(), "--restart", "--pid-file=" + hardLink,
                    "--status-file=" + statusLink);
            assertEquals(255, viaHardLink.status(), viaHardLink.output());
            assertEquals("refusing " + hardLink + ": it has 2 names (hard links)", viaHardLink.output().strip());
            assertEquals(1, StatusFile.read(status).size());
            assertFalse(other.output().contains("received"), "the other instance got no signal:\n" + other.output());
        }
    }

    @Test
    void aFifoHangsNeitherStartServerNorItsClients() throws Exception {
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        OneShot stop = OneShot.run(dir, Map.of(), "--stop", "--timeout=2", "--pid-file=" + fifo);
        assertEquals(255, stop.status(), stop.output());
        assertEquals("refusing " + fifo + ": not a regular file", stop.output().strip());
        OneShot log = OneShot.run(dir, Map.of("REPORT_DIR", dir.toString()),
                Reports.args("--log-file=" + fifo).toArray(String[]::new));
        assertEquals(6, log.status(), log.output()); // ENXIO: a FIFO nobody reads
        assertEquals("failed to open log file:" + fifo + ": No such device or address", log.output().strip());
    }

    @Test
    void stopReturnsOnceTheServerIsGoneEvenIfSomeoneElseHoldsTheLock() throws Exception {
        Path pid = dir.resolve("pid");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--pid-file=" + pid)) {
            reports.await(1);
            // Anyone who may read the pid file may queue for its lock, and then keep it.
            Process holder = new ProcessBuilder(Reports.PYTHON, "-c", "import fcntl, sys, time\n"
                    + "f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
                    pid.toString()).start();
            try {
                OneShot stop = OneShot.run(dir, Map.of(), "--stop", "--pid-file=" + pid);
                assertEquals(0, stop.status(), stop.output());
                assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
            } finally {
                holder.destroy();
            }
        }
    }

    @Test
    void fileNamesTheLocaleCannotEncodeAreRefusedBeforeAnythingIsCreated() throws Exception {
        for (String option : List.of("--pid-file=", "--log-file=")) {
            OneShot refused = OneShot.run(dir, Map.of("LC_ALL", "C", "REPORT_DIR", dir.toString()),
                    Reports.args(option + dir.resolve("pé")).toArray(String[]::new));
            assertEquals(255, refused.status(), option + ": " + refused.output());
            assertTrue(refused.isOneCleanLine() && refused.output().startsWith("invalid file name:"),
                    refused.output());
        }
        try (var left = Files.list(dir)) {
            assertEquals(List.of(), left.toList());
        }
    }

    @Test
    void aStatusFileNeedsAName() throws Exception {
        OneShot root = OneShot.run(dir, Map.of(), Reports.args("--status-file=/").toArray(String[]::new));
        assertEquals(255, root.status(), root.output());
        assertEquals("invalid --status-file value:/ (a file name is needed)", root.output().strip());
    }

    @Test
    void aPathThatStartsWithAnAtIsAFileAsInPerl() throws Exception {
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--path=@app.sock")) {
            var report = reports.await(1);
            assertEquals("@app.sock=3", report.getProperty("env.SERVER_STARTER_PORT").replace("=4", "=3"));
            Await.until("the socket file", Reports.TIMEOUT, () -> Files.exists(dir.resolve("@app.sock")));
        }
    }
}

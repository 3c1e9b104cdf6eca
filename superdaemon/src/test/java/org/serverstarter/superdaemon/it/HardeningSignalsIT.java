package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * Signals reach only the intended processes and mean what they say (issue 12, items 5-10 and 15): clients check who
 * holds the pid file, signal options cannot hang a restart, KILL escalation keeps its deadline and reaches a
 * wrapper's children, a TERM to everything is not taken for a crash, failed generations are reaped at once, and
 * workers outlive a killed start_server only as long as it takes them to notice.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HardeningSignalsIT {
    /** Clients run in a session of their own: a pid of 0 once sent their HUP to the caller's whole process group. */
    private static final List<String> OWN_SESSION = List.of("setsid");

    @TempDir
    Path dir;

    @Test
    void restartSignalsNobodyThroughAStaleOrForgedPidFile() throws Exception {
        Path status = Files.writeString(dir.resolve("status"), "1:1\n");
        Process bystander = new ProcessBuilder("sleep", "60").start(); // dies of a HUP
        try {
            Path stale = Files.writeString(dir.resolve("stale.pid"), bystander.pid() + "\n");
            OneShot restart = OneShot.run(dir, Map.of(), OWN_SESSION, "--restart", "--pid-file=" + stale,
                    "--status-file=" + status);
            assertEquals(3, restart.status(), restart.output());
            assertEquals("failed to send SIGHUP to the server process:No such process (stale pid file " + stale
                    + ": no start_server holds its lock)", restart.output().strip());

            // Locked by someone, but the pid in it is a process that does not hold the file: forged or recycled.
            Path forged = Files.writeString(dir.resolve("forged.pid"), bystander.pid() + "\n");
            Process locker = new ProcessBuilder("flock", forged.toString(), "sleep", "60").start();
            try {
                Await.until("the lock to be held", Reports.TIMEOUT, () -> isLocked(forged));
                OneShot viaLock = OneShot.run(dir, Map.of(), OWN_SESSION, "--restart", "--pid-file=" + forged,
                        "--status-file=" + status);
                assertEquals(3, viaLock.status(), viaLock.output());
                assertTrue(viaLock.output().strip().endsWith("process " + bystander.pid()
                        + " does not hold it open)"), viaLock.output());
                Files.writeString(forged, "0\n");
                OneShot zero = OneShot.run(dir, Map.of(), OWN_SESSION, "--restart", "--pid-file=" + forged,
                        "--status-file=" + status);
                assertEquals(255, zero.status(), zero.output());
                assertTrue(zero.isOneCleanLine(), zero.output());
            } finally {
                locker.destroy();
            }
            assertTrue(bystander.isAlive(), "the unrelated process got no HUP");
        } finally {
            bystander.destroy();
        }
    }

    private static boolean isLocked(Path file) {
        try {
            return new ProcessBuilder("flock", "-n", file.toString(), "true").start().waitFor() != 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Test
    void signalZeroMeansTermAndSignalsThatOnlySuspendAreRefused() throws Exception {
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--signal-on-hup=0", "--signal-on-term=0")) {
            long first = Long.parseLong(reports.await(1).getProperty("pid"));
            starter.signal("HUP");
            reports.await(2);
            starter.awaitOutput("^new worker is now running, sending TERM to old workers:" + first + "$",
                    Reports.TIMEOUT);
            starter.awaitOutput("^old worker " + first + " died, status:0$", Reports.TIMEOUT);
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
        }
        for (String option : List.of("--signal-on-hup=STOP", "--signal-on-term=sigtstp", "--signal-on-hup=21",
                "--signal-on-term=00")) {
            OneShot refused = OneShot.run(dir, Map.of(), Reports.args(option).toArray(String[]::new));
            assertEquals(255, refused.status(), option + ": " + refused.output());
            assertTrue(refused.isOneCleanLine() && refused.output().contains("cannot stop a worker"),
                    option + ": " + refused.output());
        }
    }

    @Test
    void killTimeoutIsKeptWhileTheNextGenerationBoots() throws Exception {
        ReadyWorkers workers = new ReadyWorkers(dir);
        // Every generation ignores TERM; generation 3 takes 8 s to be ready, far beyond the 2 s kill timeout.
        try (StarterProcess starter = workers.start(Map.of("IGNORE_TERM", "1", "READY_DELAY", "0.2",
                "READY_DELAYS", "3:8"), "--readiness=notify", "--kill-timeout=2")) {
            long first = workers.pidOf(1);
            starter.awaitOutput("new worker " + first + " is ready", Reports.TIMEOUT);
            starter.signal("HUP");
            long second = workers.pidOf(2);
            starter.awaitOutput("^killing old workers$", Reports.TIMEOUT);
            starter.signal("HUP");
            long third = workers.pidOf(3);
            starter.awaitOutput("new worker " + third + " is ready", Reports.TIMEOUT);
            String out = starter.output();
            int killed = out.indexOf("worker " + first + " is still running 2 secs after it was signalled");
            assertTrue(killed >= 0 && killed < out.indexOf("new worker " + third + " is ready"),
                    "the first generation is killed while the third boots:\n" + out);
            assertTrue(second > 0);
        }
    }

    @Test
    void aWrappersChildrenAreSignalledWithIt() throws Exception {
        int port = Ports.freeTcpPort();
        Path pid = dir.resolve("pid");
        // A wrapper that does not exec: TERM to the wrapper alone would leave the report worker serving.
        List<String> args = List.of("--port=127.0.0.1:" + port, "--pid-file=" + pid, "--", "sh", "-c",
                String.join(" ", Reports.worker()) + "; echo wrapper done");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args,
                Map.of("REPORT_DIR", dir.toString()), dir)) {
            long child = Long.parseLong(reports.await(1).getProperty("pid"));
            assertEquals(0, OneShot.run(dir, Map.of(), "--stop", "--pid-file=" + pid).status());
            reports.awaitSignal(child, "SIGTERM");
            assertTrue(isGone(child), "the wrapper's child has exited when --stop returns");
            assertTrue(portIsFree(port));
        }
    }

    @Test
    void killTimeoutReachesAWrappersChildThatIgnoresTerm() throws Exception {
        int port = Ports.freeTcpPort();
        List<String> args = List.of("--port=127.0.0.1:" + port, "--kill-timeout=1", "--", "sh", "-c",
                String.join(" ", Reports.worker()) + "; echo wrapper done");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args,
                Map.of("REPORT_DIR", dir.toString(), "IGNORE_TERM", "1"), dir)) {
            long child = Long.parseLong(reports.await(1).getProperty("pid"));
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
            assertTrue(starter.output().contains("is still running 1 secs after it was signalled, sending KILL"),
                    starter.output());
            assertTrue(isGone(child), "nothing of the worker serves after start_server exits");
            assertTrue(portIsFree(port));
        }
    }

    @Test
    void aTermForEveryoneIsNotTakenForACrash() throws Exception {
        Reports reports = new Reports(dir);
        Path status = dir.resolve("status");
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--status-file=" + status)) {
            long worker = Long.parseLong(reports.await(1).getProperty("pid"));
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(1L, worker)), Reports.TIMEOUT); // started
            // What systemd's KillMode=control-group does: TERM to every process at once. Stopping start_server
            // first makes the order deterministic: the worker's exit and the TERM are both waiting when it resumes.
            starter.signal("STOP");
            assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(worker)).start().waitFor());
            Await.until("the worker to have exited", Reports.TIMEOUT, () -> isZombie(worker));
            starter.signal("TERM");
            starter.signal("CONT");
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
            String out = starter.output();
            assertEquals(1, out.lines().filter(l -> l.startsWith("starting new worker")).count(), out);
            assertFalse(out.contains("restarting"), out);
        }
    }

    /** Exited: no such process, or a zombie that init has not reaped yet. */
    private static boolean isGone(long pid) {
        return ProcessHandle.of(pid).isEmpty() || isZombie(pid);
    }

    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aTimedOutGenerationIsReapedWhileTheNextAttemptsFail() throws Exception {
        ReadyWorkers workers = new ReadyWorkers(dir);
        Path status = dir.resolve("status");
        try (StarterProcess starter = workers.start(Map.of("READY_DELAY", "0.2", "SILENT_GENERATIONS", "2,3,4,5,6,7"),
                "--readiness=notify", "--ready-timeout=2", "--interval=1", "--status-file=" + status)) {
            long first = workers.pidOf(1);
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(1L, first)), Reports.TIMEOUT);
            starter.signal("HUP");
            long second = workers.pidOf(2);
            long third = workers.pidOf(3);
            // Generation 2 exits on its TERM at once; it must be gone from the file while generation 3 is waited for.
            StatusFile.awaitGenerations(status, g -> !g.containsKey(2L), Reports.TIMEOUT);
            // The status file is rewritten just before the line is logged.
            starter.awaitOutput("^old worker " + second + " died", Reports.TIMEOUT);
            String out = starter.output();
            int reaped = out.indexOf("old worker " + second + " died");
            int thirdTimedOut = out.indexOf("new worker " + third + " did not send READY=1");
            assertTrue(reaped >= 0 && (thirdTimedOut < 0 || reaped < thirdTimedOut), out);
        }
    }

    @Test
    void workersExitWhenStartServerIsKilledAndTheirPortIsFreeAgain() throws Exception {
        int port = Ports.freeTcpPort();
        Reports reports = new Reports(dir);
        Path sock = dir.resolve("app.sock");
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--port=127.0.0.1:" + port, "--path=" + sock,
                "--readiness=notify", "--ready-timeout=5")) {
            var report = reports.await(1);
            long worker = Long.parseLong(report.getProperty("pid"));
            assertTrue(report.getProperty("env.NOTIFY_SOCKET").startsWith("@"), "no file for the notify socket");
            starter.signal("KILL");
            reports.awaitSignal(worker, "LIFELINE");
            Await.until("the orphaned worker to exit", Reports.TIMEOUT, () -> isGone(worker));
            assertTrue(portIsFree(port));
        }
        // The socket file of the killed start_server is left, refusing connections: a new one takes it over.
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--port=127.0.0.1:" + port, "--path=" + sock)) {
            starter.awaitOutput("^removing existing socket file:" + sock + "$", Reports.TIMEOUT);
            starter.awaitOutput("^starting new worker", Reports.TIMEOUT);
        }
    }

    private static boolean portIsFree(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}

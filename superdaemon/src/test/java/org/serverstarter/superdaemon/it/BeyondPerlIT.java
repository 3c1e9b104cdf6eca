package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/** The options that go beyond Perl's: restart storms, kill escalation, back-off, log reopening, client timeouts. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BeyondPerlIT {
    @TempDir
    Path dir;

    @Test
    void aStormOfHupsEndsWithOneGenerationNoZombieAndNoLeakedFd() throws Exception {
        Path status = dir.resolve("status");
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--status-file=" + status, "--interval=1")) {
            StatusFile.awaitGenerations(status, g -> g.size() == 1, Reports.TIMEOUT);
            long fdsBefore = openFds(starter.pid());
            Process storm = new ProcessBuilder("sh", "-c",
                    "for i in $(seq 50); do kill -HUP " + starter.pid() + "; sleep 0.04; done").start();
            assertTrue(storm.waitFor(30, TimeUnit.SECONDS));
            // Every HUP is handled once the output stops growing and one generation is left.
            Await.until("one generation after the storm", Reports.TIMEOUT, () -> {
                var g = StatusFile.read(status);
                return g.size() == 1 && g.firstKey() > 1 && !restartInProgress(starter.output());
            });
            long restarts = starter.output().lines().filter(l -> l.equals("received HUP, spawning a new worker"))
                    .count();
            // 50 HUPs over about 2 s with 1 s restarts: one restart per interval, plus the one queued behind it.
            assertTrue(restarts >= 1 && restarts <= 5, restarts + " restarts:\n" + starter.output());
            assertEquals(List.of(), zombies(starter.pid()));
            assertEquals(fdsBefore, openFds(starter.pid()));
        }
    }

    private static boolean restartInProgress(String output) {
        List<String> lines = output.lines().toList();
        return !lines.isEmpty() && !lines.get(lines.size() - 1).startsWith("old worker");
    }

    @Test
    void oldWorkersThatIgnoreTheSignalAreKilledAfterKillTimeout() throws Exception {
        Path status = dir.resolve("status");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of("IGNORE_TERM", "1"), "--status-file=" + status,
                "--kill-timeout=1")) {
            long first = Long.parseLong(reports.await(1).getProperty("pid"));
            StatusFile.awaitGenerations(status, g -> g.size() == 1, Reports.TIMEOUT);
            starter.signal("HUP");
            long second = Long.parseLong(reports.await(2).getProperty("pid"));
            reports.awaitSignal(first, "SIGTERM");
            starter.awaitOutput("worker " + first + " is still running 1 secs after it was signalled, sending KILL",
                    Reports.TIMEOUT);
            starter.awaitOutput("old worker " + first + " died, status:9", Reports.TIMEOUT);
            assertEquals(Map.of(2L, second), StatusFile.read(status));

            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
            assertTrue(starter.output().contains("worker " + second + " died, status:9"), starter.output());
        }
    }

    @Test
    void failedStartsBackOff() {
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of("FAIL_GENERATIONS", "1,2,3"), "--interval=1",
                "--max-backoff=2")) {
            reports.await(4);
            String out = starter.output();
            int one = out.indexOf("backing off 1 secs before the next attempt");
            int two = out.indexOf("backing off 2 secs before the next attempt");
            assertTrue(one >= 0 && two > one, out);
            assertEquals(3, out.split("seems to have failed to start", -1).length - 1, out);
        }
    }

    @Test
    void usr1ReopensTheLogFile() throws Exception {
        Path log = dir.resolve("log");
        Path rotated = dir.resolve("log.1");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--log-file=" + log)) {
            reports.await(1);
            Await.until("the first worker in the log", Reports.TIMEOUT, () -> read(log).contains("starting new"));
            Files.move(log, rotated);
            starter.signal("USR1");
            Await.until("a new log file", Reports.TIMEOUT, () -> read(log).contains("reopened log file " + log));
            starter.signal("HUP");
            Await.until("the restart in the new log", Reports.TIMEOUT,
                    () -> read(log).contains("received HUP, spawning a new worker"));
            assertTrue(!read(rotated).contains("received HUP"));
        }
    }

    @Test
    void clientModesGiveUpAfterTimeout() throws Exception {
        Path status = dir.resolve("status");
        Path pid = dir.resolve("pid");
        Reports reports = new Reports(dir);
        // Every later generation fails, and the worker ignores TERM: both clients would wait for ever.
        try (StarterProcess starter = Reports.start(dir,
                Map.of("FAIL_GENERATIONS", "2,3,4,5,6,7,8,9,10", "IGNORE_TERM", "1"),
                "--status-file=" + status, "--pid-file=" + pid)) {
            reports.await(1);
            StatusFile.awaitGenerations(status, g -> g.size() == 1, Reports.TIMEOUT);
            ClientRun restart = client("--restart", "--timeout=2", "--pid-file=" + pid, "--status-file=" + status);
            assertEquals(110, restart.status(), restart.output());
            assertTrue(restart.output().startsWith("timed out after 2 secs waiting for the restart"),
                    restart.output());
            ClientRun stop = client("--stop", "--timeout=1", "--pid-file=" + pid);
            assertEquals(110, stop.status(), stop.output());
            assertTrue(stop.output().contains("timed out after 1 secs waiting for start_server"), stop.output());
        }
    }

    @Test
    void asPidOneItReapsEveryOrphan() throws Exception {
        Process probe = new ProcessBuilder("unshare", "--pid", "--fork", "true").start();
        org.junit.jupiter.api.Assumptions.assumeTrue(probe.waitFor() == 0, "needs unshare --pid (root)");
        Path orphans = org.serverstarter.testkit.Repo.root().resolve("superdaemon/src/test/resources/workers/orphans.sh");
        Process unshare = new ProcessBuilder("setsid", "unshare", "--pid", "--fork", "--mount-proc",
                Superdaemon.JAVA.executable().toString(), "--", "sh", orphans.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("out.log").toFile()).start();
        try {
            Await.until("start_server as PID 1 with its worker", Reports.TIMEOUT,
                    () -> read(dir.resolve("out.log")).contains("starting new worker"));
            long init = children(unshare.pid()).get(0);
            // The worker leaves an orphan every 0.2 s; each is re-parented to PID 1 when its parent exits.
            // An orphan is a zombie for a moment until the CHLD it causes is handled; none may stay one.
            java.util.Map<String, Long> firstSeen = new java.util.HashMap<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
            while (System.nanoTime() < deadline) {
                long now = System.nanoTime();
                List<String> current = zombies(init);
                firstSeen.keySet().retainAll(current);
                for (String zombie : current) {
                    long since = firstSeen.computeIfAbsent(zombie, z -> now);
                    assertTrue(now - since < TimeUnit.SECONDS.toNanos(2), "zombie " + zombie + " is not reaped");
                }
                Thread.sleep(100); // sampling the process table over a window; there is no event to wait on
            }
            new ProcessBuilder("kill", "-TERM", Long.toString(init)).start().waitFor();
            assertTrue(unshare.waitFor(30, TimeUnit.SECONDS));
            assertTrue(read(dir.resolve("out.log")).contains("start_server (pid:1) starting now..."));
        } finally {
            new ProcessBuilder("kill", "-KILL", "--", "-" + unshare.pid()).start().waitFor();
        }
    }

    private static List<Long> children(long pid) throws IOException {
        List<Long> found = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                String stat = read(proc.resolve("stat"));
                int close = stat.lastIndexOf(')');
                if (close > 0 && stat.substring(close + 2).split(" ")[1].equals(Long.toString(pid))) {
                    found.add(Long.parseLong(proc.getFileName().toString()));
                }
            }
        }
        return found;
    }

    private record ClientRun(int status, String output) {
    }

    private ClientRun client(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(Superdaemon.JAVA.executable().toString()));
        argv.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "client", ".log");
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "client finished");
            return new ClientRun(p.exitValue(), Files.readString(out));
        } finally {
            p.destroyForcibly();
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static long openFds(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return fds.count();
        }
    }

    /** Children of {@code pid} in state Z. */
    private static List<String> zombies(long pid) throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                String stat = read(proc.resolve("stat"));
                int close = stat.lastIndexOf(')');
                if (close < 0) {
                    continue;
                }
                String[] fields = stat.substring(close + 2).split(" ");
                if (fields[0].equals("Z") && fields[1].equals(Long.toString(pid))) {
                    found.add(proc.getFileName().toString());
                }
            }
        }
        return found;
    }
}

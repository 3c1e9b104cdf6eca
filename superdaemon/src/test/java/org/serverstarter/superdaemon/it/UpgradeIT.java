package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Exited;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Repo;
import org.serverstarter.testkit.RestartLoad;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * {@code start_server --upgrade} against real processes: the running start_server execs a fresh start of its
 * launcher in the same process, under load, and keeps its pid, sockets and workers; a launcher that cannot start is
 * refused with the old image untouched; signals sent while the new image starts are not lost.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class UpgradeIT {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String JSON_QUERY = "import json,sys; d=json.load(sys.stdin); "
            + "[print(json.dumps(eval(e))) for e in sys.argv[1:]]";
    /** SIGHUP's bit in /proc's SigBlk mask. */
    private static final long HUP_BIT = 1L;

    @TempDir
    Path dir;

    private Path pidFile;
    private Path statusFile;
    private int port;

    @BeforeEach
    void files() {
        pidFile = dir.resolve("pid");
        statusFile = dir.resolve("status");
        port = Ports.freeTcpPort("127.0.0.1");
    }

    private List<String> args(String... more) {
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + port, "--pid-file=" + pidFile,
                "--status-file=" + statusFile));
        args.addAll(List.of(more));
        args.addAll(List.of("--", Reports.PYTHON,
                Repo.root().resolve("superdaemon/src/test/resources/workers/http_worker.py").toString()));
        return args;
    }

    private InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", port);
    }

    private long awaitWorker(long generation) {
        return StatusFile.awaitGenerations(statusFile, g -> g.keySet().equals(Set.of(generation)), WAIT)
                .get(generation);
    }

    private String answer() {
        return HttpClient.get(address(), "/").body();
    }

    private OneShot client(String... args) throws Exception {
        return OneShot.run(dir, Map.of(), args);
    }

    /** Values of the --status document, one per Python expression over it ({@code d}), as JSON text. */
    private List<String> status(String... expressions) throws Exception {
        OneShot status = client("--status", "--pid-file=" + pidFile);
        assertEquals(0, status.status(), status.output());
        List<String> argv = new ArrayList<>(List.of(Reports.SYSTEM_PYTHON, "-c", JSON_QUERY));
        argv.addAll(List.of(expressions));
        Path input = Files.writeString(Files.createTempFile(dir, "status-", ".json"), status.output());
        Exited out = Exited.run(new ProcessBuilder(argv).redirectInput(input.toFile()), Reports.TIMEOUT);
        assertEquals(0, out.status(), status.output() + "\n" + out.output());
        return out.output().lines().toList();
    }

    private static long pidInFile(Path pidFile) throws IOException {
        return Long.parseLong(Files.readString(pidFile).strip());
    }

    /** Whether the thread that leads {@code pid} blocks HUP: true only in an image started by --upgrade. */
    private static boolean leaderBlocksHup(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/task/" + pid + "/status"))) {
                if (line.startsWith("SigBlk:")) {
                    return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & HUP_BIT) != 0;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    @Test
    void upgradesUnderLoadKeepingPidSocketsAndWorkersThenRestartsAndStops() throws Exception {
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args(), Map.of(), dir)) {
            long worker = awaitWorker(1);
            Await.until("generation 1 to answer", WAIT, () -> answer().contains("pid=" + worker));
            assertFalse(leaderBlocksHup(starter.pid()), "a first image holds no signal");
            List<String> before = status("d['started_at']", "d['image_started_at']", "d['server_starter_port']");
            try (RestartLoad load = new RestartLoad(address(), List.of(0, 0, 20, 400), List.of(0, 300))) {
                Await.until("answers before the upgrade", WAIT, () -> load.answersFrom(worker) >= 20);
                OneShot upgrade = client("--upgrade", "--pid-file=" + pidFile, "--timeout=60");
                assertEquals(0, upgrade.status(), upgrade.output() + starter.output());
                assertTrue(upgrade.output().matches("(?s)start_server \\(pid:" + starter.pid()
                        + "\\) upgraded: start_server \\S+ on Java .*\n"), upgrade.output());
                long answered = load.answersFrom(worker);
                Await.until("answers after the upgrade", WAIT, () -> load.answersFrom(worker) >= answered + 20);
                load.close();
                assertEquals(List.of(), load.failures, "answers " + load.answersByBody + "\n" + starter.output());
            }
            // The same process, pid file, sockets and worker.
            assertTrue(starter.output().contains("start_server (pid:" + starter.pid() + ") upgraded: "),
                    starter.output());
            assertEquals(starter.pid(), pidInFile(pidFile));
            assertEquals(Map.of(1L, worker), StatusFile.read(statusFile));
            List<String> after = status("d['pid']", "d['last_upgrade']['outcome']", "d['started_at']",
                    "d['image_started_at']", "d['server_starter_port']",
                    "[(w['pid'], w['generation'], w['role']) for w in d['workers']]");
            assertEquals(List.of(Long.toString(starter.pid()), "\"done\"", before.get(0)), after.subList(0, 3));
            assertTrue(after.get(3).compareTo(before.get(1)) > 0, "a new image start time: " + after);
            assertEquals(before.get(2), after.get(4));
            assertEquals("[[" + worker + ", 1, \"current\"]]", after.get(5));

            // HUP works after the upgrade, and --restart too.
            starter.signal("HUP");
            long second = awaitWorker(2);
            Await.until("generation 2 to answer", WAIT, () -> answer().contains("pid=" + second));
            OneShot restart = client("--restart", "--pid-file=" + pidFile, "--status-file=" + statusFile,
                    "--timeout=60");
            assertEquals(0, restart.status(), restart.output());
            long third = awaitWorker(3);
            assertEquals(List.of("2", "2"), status("d['counters']['restarts_asked']",
                    "d['counters']['restarts_done']"));

            // TERM stops everything.
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(WAIT), starter.output());
            for (long pid : List.of(worker, second, third)) {
                assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "worker " + pid);
            }
            assertFalse(Files.exists(pidFile));
            assertFalse(Files.exists(statusFile));
        }
    }

    @Test
    void aHupSentWhileTheNewImageStartsIsNotLost() throws Exception {
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args(), Map.of(), dir)) {
            long worker = awaitWorker(1);
            Await.until("generation 1 to answer", WAIT, () -> answer().contains("pid=" + worker));
            Path out = dir.resolve("upgrade.out");
            Process upgrade = new ProcessBuilder(Superdaemon.JAVA.executable().toString(), "--upgrade",
                    "--pid-file=" + pidFile, "--timeout=60").redirectErrorStream(true).redirectOutput(out.toFile())
                    .start();
            try {
                // The exec has happened once the thread that leads the process blocks HUP; the new JVM is starting.
                Await.until("the exec of the new image", WAIT, () -> leaderBlocksHup(starter.pid()));
                starter.signal("HUP");
                assertTrue(upgrade.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "the upgrade client to finish");
                assertEquals(0, upgrade.exitValue(), Files.readString(out) + starter.output());
            } finally {
                upgrade.destroyForcibly();
            }
            long second = awaitWorker(2);
            Await.until("generation 2 to answer", WAIT, () -> answer().contains("pid=" + second));
            assertEquals(starter.pid(), pidInFile(pidFile));
        }
    }

    @Test
    void aLauncherThatCannotStartIsRefusedAndTheOldImageGoesOn() throws Exception {
        // A copy of the launcher, laid out as installed (bin/, lib/), whose jar the test can take away and give back.
        Path home = Files.createDirectories(dir.resolve("home"));
        Path launcher = Files.createDirectories(home.resolve("bin")).resolve("start_server");
        Files.copy(Superdaemon.JAVA.executable(), launcher);
        Path lib = Files.createDirectories(home.resolve("lib"));
        Path built = Superdaemon.JAVA.executable().getParent().resolveSibling("target").toRealPath();
        Path jar = lib.resolve("start_server.jar");
        Files.createSymbolicLink(jar, built.resolve("start_server.jar"));
        // The build's archive, so that the first start does not make one (it fits the jar's own path only, so this
        // JVM runs without sharing).
        if (Files.exists(built.resolve("start_server.jsa"))) {
            Files.createSymbolicLink(lib.resolve("start_server.jsa"), built.resolve("start_server.jsa"));
        }
        try (StarterProcess starter = StarterProcess.start(launcher, args(), Map.of(), dir)) {
            long worker = awaitWorker(1);
            Await.until("generation 1 to answer", WAIT, () -> answer().contains("pid=" + worker));
            Files.delete(jar); // no jar any more

            OneShot refused = client("--upgrade", "--pid-file=" + pidFile, "--timeout=60");
            assertEquals(255, refused.status(), refused.output());
            assertEquals(1, refused.output().lines().count(), refused.output());
            assertTrue(refused.output().startsWith("start_server (pid:" + starter.pid() + ") did not upgrade: "
                    + launcher + " cannot start (exit status 255): start_server: "), refused.output());
            assertTrue(starter.output().contains("upgrade refused: "), starter.output());
            assertEquals(List.of("\"refused\"", "1"), status("d['last_upgrade']['outcome']",
                    "d['current_generation']"));
            assertTrue(answer().contains("pid=" + worker), "the old image still serves");

            OneShot restart = client("--restart", "--pid-file=" + pidFile, "--status-file=" + statusFile,
                    "--timeout=60");
            assertEquals(0, restart.status(), restart.output());
            long second = awaitWorker(2);
            Await.until("generation 2 to answer", WAIT, () -> answer().contains("pid=" + second));

            // With the jar back, the same launcher upgrades.
            Files.createSymbolicLink(jar, built.resolve("start_server.jar"));
            OneShot upgraded = client("--upgrade", "--pid-file=" + pidFile, "--timeout=60");
            assertEquals(0, upgraded.status(), upgraded.output() + starter.output());
            assertEquals(Map.of(2L, second), StatusFile.read(statusFile));
        }
    }

    @Test
    void withoutARunningInstanceExits3WithOneLine() throws Exception {
        OneShot missing = client("--upgrade", "--pid-file=" + dir.resolve("none"));
        assertEquals(3, missing.status(), missing.output());
        assertEquals("no start_server runs from " + dir.resolve("none") + " (no such file)\n", missing.output());

        Files.writeString(pidFile, "12345\n");
        OneShot stale = client("--upgrade", "--pid-file=" + pidFile);
        assertEquals(3, stale.status(), stale.output());
        assertEquals(1, stale.output().lines().count(), stale.output());

        OneShot noPidFile = client("--upgrade");
        assertEquals(255, noPidFile.status(), noPidFile.output());
        assertEquals("--upgrade option requires --pid-file to be set as well\n", noPidFile.output());
        assertEquals(Set.of(pidFile), Set.copyOf(filesIn(dir)), "nothing left behind");
    }

    private static List<Path> filesIn(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(f -> !f.getFileName().toString().startsWith("oneshot-")).toList();
        }
    }

    @Test
    void upgradesADaemon() throws Exception {
        Path log = dir.resolve("log");
        List<String> daemonArgs = args("--daemonize", "--log-file=" + log);
        OneShot started = client(daemonArgs.toArray(String[]::new));
        assertEquals(0, started.status(), started.output());
        Await.until("the pid file", WAIT, () -> Files.exists(pidFile));
        long daemon = pidInFile(pidFile);
        try {
            long worker = awaitWorker(1);
            Await.until("generation 1 to answer", WAIT, () -> answer().contains("pid=" + worker));
            OneShot upgrade = client("--upgrade", "--pid-file=" + pidFile, "--timeout=60");
            assertEquals(0, upgrade.status(), upgrade.output() + Files.readString(log));
            assertEquals(daemon, pidInFile(pidFile));
            assertTrue(answer().contains("pid=" + worker));
            String logged = Files.readString(log);
            assertTrue(logged.contains("start_server (pid:" + daemon + ") upgraded: "), logged);
            // The foreground said "starting now" on the terminal; the new image starts nothing afresh (it would say
            // so in the log) and the daemon's pid is still the one in the pid file.
            assertEquals(0, logged.lines().filter(l -> l.contains("starting now")).count(), logged);
            assertTrue(started.output().contains("starting now"), started.output());
            OneShot restart = client("--restart", "--pid-file=" + pidFile, "--status-file=" + statusFile,
                    "--timeout=60");
            assertEquals(0, restart.status(), restart.output());
            awaitWorker(2);
            OneShot stop = client("--stop", "--pid-file=" + pidFile, "--timeout=60");
            assertEquals(0, stop.status(), stop.output());
            // --stop returns once the lock is let go, the last thing before the exit.
            Await.until("the daemon to exit", WAIT,
                    () -> !ProcessHandle.of(daemon).map(ProcessHandle::isAlive).orElse(false));
        } finally {
            // Only the daemon this test started, if an assertion left it running.
            ProcessHandle.of(daemon).filter(ProcessHandle::isAlive).ifPresent(ProcessHandle::destroy);
        }
    }
}

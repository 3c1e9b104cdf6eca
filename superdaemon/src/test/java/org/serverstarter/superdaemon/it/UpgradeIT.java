package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
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
 * refused with the old image untouched; signals sent while the new image starts are not lost, also when
 * start_server is PID 1 of a pid namespace and the clients run inside it, as in a container.
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
        return status(List.of(), expressions);
    }

    /** As {@link #status(String...)}, with the client run behind {@code prefix} (nsenter). */
    private List<String> status(List<String> prefix, String... expressions) throws Exception {
        OneShot status = OneShot.run(dir, Map.of(), prefix, "--status", "--pid-file=" + pidFile);
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

    /**
     * The command that runs a program in the pid namespace whose init has {@code init} as its pid here, with that
     * namespace's /proc (its mount namespace), as {@code kubectl exec} would: the pid file's "1" is start_server there.
     */
    private static List<String> nsenter(long init) {
        return List.of("nsenter", "--target=" + init, "--pid", "--mount");
    }

    private static ProcessBuilder inNamespace(long init, String... argv) {
        List<String> command = new ArrayList<>(nsenter(init));
        command.addAll(List.of(argv));
        return new ProcessBuilder(command);
    }

    /** Sends {@code signal} to {@code pid}, a process this test started. */
    private static void kill(String signal, long pid) throws Exception {
        Exited kill = Exited.run(new ProcessBuilder("kill", "-s", signal, Long.toString(pid)), Reports.TIMEOUT);
        assertEquals(0, kill.status(), kill.output());
    }

    /** The children of {@code parent} with their states (the field after the name in /proc/PID/stat). */
    private static Map<Long, String> childStates(long parent) {
        Map<Long, String> found = new TreeMap<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                String stat;
                try {
                    stat = Files.readString(proc.resolve("stat"));
                } catch (IOException e) {
                    continue; // exited while we looked
                }
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                if (fields[1].equals(Long.toString(parent))) {
                    found.put(Long.parseLong(proc.getFileName().toString()), fields[0]);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return found;
    }

    private static List<Long> children(long parent) {
        return List.copyOf(childStates(parent).keySet());
    }

    private static List<Long> zombies(long parent) {
        return childStates(parent).entrySet().stream().filter(e -> e.getValue().equals("Z")).map(Map.Entry::getKey)
                .toList();
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

    /**
     * As a container's init: start_server is PID 1 of a pid namespace of its own, and the clients run inside it, as
     * {@code kubectl exec} or an exec probe would. A HUP sent from inside while the new image starts (when PID 1
     * has no handler for it, and the kernel drops signals to an init that has none unless they are blocked) is
     * not lost; a second upgrade keeps the worker and its generation; no zombie is left; a client outside the
     * namespace, for which pid 1 is this machine's init, signals nothing; TERM from inside stops everything.
     */
    @Test
    void upgradesAsPidOneOfAPidNamespace() throws Exception {
        Exited probe = Exited.run(new ProcessBuilder("unshare", "--pid", "--fork", "--mount-proc", "true"),
                Reports.TIMEOUT);
        Assumptions.assumeTrue(probe.status() == 0, "needs unshare --pid (root): " + probe.output());
        List<String> command = List.of("unshare", "--pid", "--fork", "--mount-proc",
                Superdaemon.JAVA.executable().toString());
        try (StarterProcess unshare = StarterProcess.start(command, args(), Map.of(), dir)) {
            // unshare waits in the parent namespace; its only child is start_server, PID 1 inside.
            Await.until("start_server under unshare", WAIT, () -> children(unshare.pid()).size() == 1);
            long init = children(unshare.pid()).get(0);
            List<String> inside = nsenter(init);
            long first = awaitWorker(1); // pids in the pid and status files are the namespace's
            Await.until("generation 1 to answer", WAIT, () -> answer().contains("pid=" + first));
            assertEquals(1, pidInFile(pidFile));
            assertEquals(List.of("1", "1"), status(inside, "d['pid']", "d['current_generation']"));

            // From outside, "1" in the pid file is this machine's init: /proc shows that it does not hold the file
            // (exit 3), or does not let us look (exit 255). --status, so that a bug here would signal nobody.
            OneShot outside = client("--status", "--pid-file=" + pidFile);
            assertTrue(outside.status() == 3 && outside.output().equals("no start_server runs from " + pidFile
                    + " (process 1 does not hold it open)\n") || outside.status() == 255 && outside.isOneCleanLine()
                    && outside.output().startsWith("invalid pid in " + pidFile + ":1 (/proc does not show"),
                    outside.status() + ": " + outside.output());

            // The first upgrade, with a HUP sent to PID 1 from inside once the exec has happened.
            Path out = dir.resolve("upgrade.out");
            List<String> upgradeArgv = new ArrayList<>(inside);
            upgradeArgv.addAll(List.of(Superdaemon.JAVA.executable().toString(), "--upgrade",
                    "--pid-file=" + pidFile, "--timeout=60"));
            Process upgrade = new ProcessBuilder(upgradeArgv).redirectErrorStream(true).redirectOutput(out.toFile())
                    .start();
            try {
                Await.until("the exec of the new image", WAIT, () -> leaderBlocksHup(init));
                Exited hup = Exited.run(inNamespace(init, "kill", "-s", "HUP", "1"), Reports.TIMEOUT);
                assertEquals(0, hup.status(), hup.output());
                assertTrue(upgrade.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "the upgrade client to finish");
                assertEquals(0, upgrade.exitValue(), Files.readString(out) + unshare.output());
            } finally {
                upgrade.destroyForcibly();
            }
            assertTrue(Files.readString(out).startsWith("start_server (pid:1) upgraded: "), Files.readString(out));
            long second = awaitWorker(2);
            Await.until("generation 2 to answer", WAIT, () -> answer().contains("pid=" + second));

            // The second upgrade: the same process, worker and generation.
            OneShot again = OneShot.run(dir, Map.of(), inside, "--upgrade", "--pid-file=" + pidFile, "--timeout=60");
            assertEquals(0, again.status(), again.output() + unshare.output());
            assertTrue(again.output().startsWith("start_server (pid:1) upgraded: start_server "), again.output());
            assertEquals(List.of(init), children(unshare.pid()));
            assertEquals(1, pidInFile(pidFile));
            assertEquals(Map.of(2L, second), StatusFile.read(statusFile));
            assertTrue(answer().contains("generation=2 pid=" + second));
            assertEquals(List.of("1", "2", "\"done\"", "[[" + second + ", 2, \"current\"]]"), status(inside,
                    "d['pid']", "d['current_generation']", "d['last_upgrade']['outcome']",
                    "[(w['pid'], w['generation'], w['role']) for w in d['workers']]"));
            // As init it leaves no zombie: neither its own workers (the first generation has exited) nor orphans.
            Await.until("no zombie in the namespace", WAIT, () -> zombies(init).isEmpty());

            // HUP from outside the namespace, and --restart from inside.
            kill("HUP", init);
            long third = awaitWorker(3);
            Await.until("generation 3 to answer", WAIT, () -> answer().contains("pid=" + third));
            OneShot restart = OneShot.run(dir, Map.of(), inside, "--restart", "--pid-file=" + pidFile,
                    "--status-file=" + statusFile, "--timeout=60");
            assertEquals(0, restart.status(), restart.output());
            long fourth = awaitWorker(4);
            Await.until("generation 4 to answer", WAIT, () -> answer().contains("pid=" + fourth));

            // TERM from inside: start_server stops its worker and exits, and with it the namespace.
            List<ProcessHandle> everything = ProcessHandle.of(unshare.pid()).orElseThrow().descendants().toList();
            assertTrue(everything.size() >= 2, "start_server and its worker: " + everything);
            Exited term = Exited.run(inNamespace(init, "kill", "-s", "TERM", "1"), Reports.TIMEOUT);
            assertEquals(0, term.status(), term.output());
            assertEquals(0, unshare.awaitExit(WAIT), unshare.output());
            for (ProcessHandle process : everything) {
                Await.until("process " + process.pid() + " to be gone", WAIT, () -> !process.isAlive());
            }
            assertTrue(unshare.output().contains("received TERM, sending TERM to all workers"), unshare.output());
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

package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/**
 * Every bad input gives one clear line, its documented exit status (docs/compatibility.md), and leaves nothing
 * behind: no worker (the process group is gone), no socket file, no pid or status file.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BadInputIT {
    @TempDir
    Path dir;

    private record Outcome(int status, String output) {
    }

    private Outcome run(String... args) throws IOException, InterruptedException {
        Set<Path> before = listing();
        try (StarterProcess p = StarterProcess.start(Superdaemon.JAVA, List.of(args),
                Map.of("REPORT_DIR", dir.toString()), dir)) {
            int status = p.awaitExit(Reports.TIMEOUT);
            Process probe = new ProcessBuilder("kill", "-0", "--", "-" + p.pid()).start();
            assertEquals(1, probe.waitFor(), "no process of the group is left");
            Set<Path> after = listing();
            after.removeAll(before);
            after.removeIf(f -> f.getFileName().toString().startsWith("start_server-"));
            assertEquals(Set.of(), after, "no stray file");
            return new Outcome(status, p.output());
        }
    }

    private Set<Path> listing() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.collect(Collectors.toSet());
        }
    }

    private void expect(int status, String line, String... args) throws Exception {
        Outcome o = run(args);
        assertEquals(status, o.status(), o.output());
        assertTrue(o.output().lines().anyMatch(line::equals), "expected line <" + line + "> in:\n" + o.output());
    }

    private String[] withWorker(String... options) {
        List<String> args = new ArrayList<>(Reports.args(options));
        return args.toArray(new String[0]);
    }

    @Test
    void unknownOption() throws Exception {
        expect(1, "Unknown option: bogus", "--bogus", "--", "true");
    }

    @Test
    void badPortValue() throws Exception {
        expect(255, "invalid ``port'' value:abc", withWorker("--port=abc"));
    }

    @Test
    void portInUseLeavesNoSocketFileBehind() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            expect(98, "failed to bind to 127.0.0.1:" + port + ":Address already in use",
                    withWorker("--path=" + dir.resolve("first.sock"), "--port=127.0.0.1:" + port));
        }
        assertFalse(Files.exists(dir.resolve("first.sock")));
    }

    @Test
    void missingProgram() throws Exception {
        expect(2, "failed to exec /nonexistent/server:No such file or directory",
                "--port=127.0.0.1:" + Ports.freeTcpPort(), "--", "/nonexistent/server");
    }

    @Test
    void noProgram() throws Exception {
        expect(255, "server program not specified", "--port=127.0.0.1:" + Ports.freeTcpPort());
    }

    @Test
    void missingPidFileDirectoryRemovesTheSocketAgain() throws Exception {
        Path sock = dir.resolve("app.sock");
        expect(2, "failed to open file:" + dir.resolve("no/pid") + ": No such file or directory",
                withWorker("--path=" + sock, "--pid-file=" + dir.resolve("no/pid")));
        assertFalse(Files.exists(sock));
    }

    @Test
    void missingStatusFileDirectoryIsFoundBeforeAnyWorkerStarts() throws Exception {
        Path status = dir.resolve("no/status");
        Outcome o = run(withWorker("--status-file=" + status));
        assertEquals(2, o.status(), o.output());
        assertTrue(o.output().startsWith("failed to create temporary file:" + status + "."), o.output());
        assertFalse(o.output().contains("starting new worker"), o.output());
    }

    @Test
    void missingLogFileDirectory() throws Exception {
        expect(2, "failed to open log file:" + dir.resolve("no/log") + ": No such file or directory",
                withWorker("--log-file=" + dir.resolve("no/log")));
    }

    @Test
    void badSignalNameIsFoundAtStartUp() throws Exception {
        expect(255, "Unrecognized signal name \"FOO\" (--signal-on-hup)", withWorker("--signal-on-hup=foo"));
    }

    @Test
    void newWorkerNiceOutOfRange() throws Exception {
        expect(255, "invalid --new-worker-nice value:20 (0 to 19)",
                withWorker("--port=127.0.0.1:" + Ports.freeTcpPort(), "--new-worker-nice=20"));
        expect(255, "invalid --new-worker-nice value:-1 (0 to 19)", withWorker("--new-worker-nice=-1"));
    }

    /** Accepted but said to have no effect; a start that then fails (a pid file it cannot open) ends the run. */
    @Test
    void readyTimeoutWithoutNotifyIsSaidToHaveNoEffect() throws Exception {
        expect(2, "--ready-timeout has no effect without --readiness=notify: a new worker counts as started after"
                + " --interval", withWorker("--ready-timeout=5", "--port=127.0.0.1:" + Ports.freeTcpPort(),
                "--pid-file=" + dir.resolve("no/pid")));
    }

    @Test
    void missingDir() throws Exception {
        expect(2, "failed to chdir:" + dir.resolve("nowhere") + ":No such file or directory",
                withWorker("--dir=" + dir.resolve("nowhere")));
    }

    @Test
    void envdirThatIsNotADirectory() throws Exception {
        Path file = Files.writeString(dir.resolve("envfile"), "x");
        expect(20, "envdir is not a directory:" + file + ":Not a directory", withWorker("--envdir=" + file));
    }

    @Test
    void regularFileAtSocketPathIsNotDeleted() throws Exception {
        Path file = Files.writeString(dir.resolve("data"), "precious");
        expect(17, "failed to listen to file " + file + ":File exists (and is not a socket)",
                withWorker("--path=" + file));
        assertEquals("precious", Files.readString(file));
    }

    @Test
    void daemonizeWithoutLogFile() throws Exception {
        expect(255, "Usage: --log-file option must be specified together with --daemonize",
                withWorker("--daemonize"));
    }

    @Test
    void clientModesWithoutTheirFiles() throws Exception {
        expect(255, "--restart option requires --pid-file and --status-file to be set as well", "--restart");
        expect(255, "--stop option requires --pid-file to be set as well", "--stop");
        expect(2, "failed to open file:" + dir.resolve("pid") + ":No such file or directory",
                "--stop", "--pid-file=" + dir.resolve("pid"));
    }

    @Test
    void termAtAnyMomentOfStartUpLeavesNothingBehind() throws Exception {
        // The JVM takes a few hundred ms to reach the binding; TERM lands before, during and after it.
        for (int delay = 50; delay <= 800; delay += 50) {
            Path sock = dir.resolve("early.sock");
            try (StarterProcess p = StarterProcess.start(Superdaemon.JAVA, Reports.args("--path=" + sock,
                    "--pid-file=" + dir.resolve("pid")), Map.of("REPORT_DIR", dir.toString()), dir)) {
                TimeUnit.MILLISECONDS.sleep(delay); // the point of the test is an arbitrary moment, not an event
                p.signal("TERM");
                int status = p.awaitExit(Reports.TIMEOUT);
                // A TERM that lands while the JVM itself initialises, before any code of ours runs, makes HotSpot
                // fail its start-up with its own message (docs/compatibility.md); nothing is bound or spawned then.
                boolean jvmInit = status == 1 && p.output().startsWith("Error occurred during initialization of VM");
                assertTrue(status == 0 || status == 143 || jvmInit, "TERM after " + delay + " ms: status " + status
                        + "; output:\n" + p.output());
                Process probe = new ProcessBuilder("ps", "-o", "pid=,stat=,args=", "-g", Long.toString(p.pid()))
                        .redirectErrorStream(true).start();
                // Zombies are not counted: when TERM hits a worker that is still starting (pyenv's python3 is a
                // shell script), its orphaned helpers are left for init to reap, which is not start_server's job.
                String left = new String(probe.getInputStream().readAllBytes()).lines()
                        .filter(l -> !l.trim().split("\\s+")[1].startsWith("Z"))
                        .collect(java.util.stream.Collectors.joining("\n"));
                probe.waitFor();
                assertEquals("", left, "TERM after " + delay + " ms: no process left; output:\n" + p.output());
            }
            assertFalse(Files.exists(sock), "TERM after " + delay + " ms left the socket file");
            assertFalse(Files.exists(dir.resolve("pid")), "TERM after " + delay + " ms left the pid file");
        }
    }

    @Test
    void stalePidFileIsNotSignalled() throws Exception {
        Path pid = Files.writeString(dir.resolve("pid"), "1\n");
        Outcome o = run("--stop", "--pid-file=" + pid);
        assertEquals(3, o.status(), o.output());
        assertTrue(o.output().contains("failed to send SIGTERM to the server process:No such process"), o.output());
    }
}

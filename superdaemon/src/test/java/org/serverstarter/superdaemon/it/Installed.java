package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

import org.junit.jupiter.api.Assumptions;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Exited;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;

/** What DistributionIT and DebianPackageIT check on an installed start_server: it runs, and it restarts a server. */
final class Installed {
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    /**
     * A worker that answers every connection on its inherited socket with its generation and exits on TERM. The
     * system's python3, not a pyenv one under /root, so that another user can run it too.
     */
    private static final String WORKER = String.join("\n",
            "import os, signal, socket",
            "signal.signal(signal.SIGTERM, lambda *_: os._exit(0))",
            "listener = socket.socket(fileno=int(os.environ['SERVER_STARTER_PORT'].split(';')[0].split('=')[1]))",
            "reply = ('generation %s\\n' % os.environ['SERVER_STARTER_GENERATION']).encode()",
            "while True:",
            "    connection, _ = listener.accept()",
            "    connection.sendall(reply)",
            "    connection.close()");

    private Installed() {
    }

    /** Runs {@code command} with {@code args} to its end, stdout and stderr merged. */
    static Exited run(List<String> command, String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(command);
        argv.addAll(List.of(args));
        return Exited.run(new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(
                Path.of("/dev/null").toFile())), TIMEOUT);
    }

    /** {@code --version} prints Perl's version, as both do; only our {@code --help} knows {@code --readiness}. */
    static void assertIsOurs(List<String> command) throws IOException, InterruptedException {
        Exited version = run(command, "--version");
        assertEquals(0, version.status(), version.output());
        assertEquals("0.35\n", version.output());
        Exited help = run(command, "--help");
        assertEquals(0, help.status(), help.output());
        assertTrue(help.output().contains("--readiness"), command + " is not our start_server:\n" + help.output());
    }

    /**
     * One real restart through {@code command}: generation 1 serves, HUP, generation 2 serves and 1 is gone, TERM,
     * start_server exits 0 with no worker left. {@code dir} must be writable by the user {@code command} runs as.
     */
    static void restartOnce(List<String> command, Path dir) {
        Assumptions.assumeTrue(new java.io.File("/usr/bin/python3").canExecute(),
                "no /usr/bin/python3 for the worker (.ci/run installs it)");
        int port = Ports.freeTcpPort();
        Path status = dir.resolve("status");
        List<String> args = List.of("--port=127.0.0.1:" + port, "--status-file=" + status, "--",
                "/usr/bin/python3", "-c", WORKER);
        try (StarterProcess starter = StarterProcess.start(command, args, Map.of(), dir)) {
            long first = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), TIMEOUT).get(1L);
            assertEquals("generation 1", ask(port), starter.output());

            starter.signal("HUP");
            SortedMap<Long, Long> after = StatusFile.awaitGenerations(status, g -> g.keySet().equals(
                    java.util.Set.of(2L)), TIMEOUT);
            assertEquals("generation 2", ask(port), starter.output());
            Await.until("generation 1 (pid " + first + ") to exit", TIMEOUT, () -> gone(first));

            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(TIMEOUT), starter.output());
            long second = after.get(2L);
            Await.until("generation 2 (pid " + second + ") to exit", TIMEOUT, () -> gone(second));
            Await.until("port " + port + " to be closed", TIMEOUT,
                    () -> Ports.refuses(new InetSocketAddress("127.0.0.1", port)));
        }
    }

    private static boolean gone(long pid) {
        return ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true);
    }

    private static String ask(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), (int) TIMEOUT.toMillis());
            socket.setSoTimeout((int) TIMEOUT.toMillis());
            return new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8))
                    .readLine();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

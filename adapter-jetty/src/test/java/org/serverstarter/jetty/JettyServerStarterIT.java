package org.serverstarter.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.ContractApp;
import org.serverstarter.testkit.LifelineLauncher;
import org.serverstarter.testkit.NotifyAddress;
import org.serverstarter.testkit.NotifyReceiver;
import org.serverstarter.testkit.NotifyReceiver.Notification;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * {@link JettyWorker} in a child JVM, for what only the Jetty adapter has (what every adapter must do is in
 * {@link JettyContractIT}): an answer committed as keep-alive before the drain, Jetty's own stop at shutdown beside
 * {@link JettyServerStarter#drainOnShutdown}, an app that defers {@code READY=1} (on TCP and unix sockets), is stopped
 * before it is ready or fails to start, and a worker whose start_server is killed with KILL.
 */
class JettyServerStarterIT {
    private static final Duration WAIT = Duration.ofSeconds(40);
    private static final Pattern READY = Pattern.compile("^jetty ready gen=1 pid=(\\d+)$", Pattern.MULTILINE);
    /** New connections on each socket while generation 2 is up but not ready. */
    private static final int REQUESTS_BEFORE_READY = 20;

    @TempDir
    Path dir;

    @Test
    @Timeout(90)
    void keepAliveAnswerCommittedBeforeTheDrainLeavesItsConnectionOpen() throws Exception {
        Superdaemon superdaemon = Superdaemon.available().findFirst().orElseThrow();
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        Path streamUntil = dir.resolve("stream-until");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(),
                "--status-file=" + status, "--interval=1", "--"));
        args.addAll(worker());

        try (StarterProcess starter = StarterProcess.start(superdaemon, args,
                Map.of("STREAM_UNTIL", streamUntil.toString()), dir)) {
            long pid1 = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            starter.awaitOutput("jetty ready gen=1 ", WAIT);
            String gen1 = "gen=1 pid=" + pid1 + "\n";
            try (HttpConnection streaming = HttpConnection.open(address);
                 HttpConnection probe = HttpConnection.open(address)) {
                assertEquals(gen1, ok(probe.get("/")));
                streaming.send("/stream");
                starter.awaitOutput("stream started gen=1$", WAIT);
                starter.signal("HUP");
                untilToldToClose(probe, gen1);

                // The streamed answer was committed as keep-alive before the drain began, so its client may send the
                // next request on the same connection; generation 1 must answer that one instead of closing under it.
                Files.createFile(streamUntil);
                HttpResponse streamed = streaming.read();
                assertEquals(gen1, ok(streamed));
                assertFalse(streaming.isClosedByServer(), "committed before the drain: " + streamed);
                // Then it is told to close like any other, at its next request once the drain's spread is over.
                untilToldToClose(streaming, gen1);
            }
            StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(2L)), WAIT);
            assertFalse(starter.output().contains("still open"), starter.output());
        }
    }

    /**
     * Jetty's {@code setStopAtShutdown(true)} beside {@code drainOnShutdown}: two shutdown hooks, one drain. With an
     * idle keep-alive connection holding it to its deadline, the drain says {@code STOPPING=1} once and reports the
     * connection once, and the worker exits as on TERM.
     */
    @Test
    @Timeout(90)
    void stopAtShutdownBesideDrainOnShutdownDrainsOnce() throws Exception {
        try (NotifyReceiver receiver = NotifyReceiver.bind(NotifyAddress.PATH.in(dir));
             LifelineLauncher launcher = LifelineLauncher.start(LifelineLauncher.Variable.ABSENT, worker(),
                     Map.of("STOP_AT_SHUTDOWN", "1", "DRAIN_TIMEOUT_MS", "1000", "NOTIFY_SOCKET", receiver.address()),
                     dir)) {
            long pid = launcher.worker().pid();
            receiver.await("READY=1", pid, WAIT);
            try (HttpConnection idle = HttpConnection.open(launcher.address())) {
                assertEquals("gen=1 pid=" + pid + "\n", ok(idle.get("/")));
                launcher.worker().destroy();
                assertEquals(143, launcher.awaitExit(WAIT), launcher.stderr());
                assertThrows(IOException.class, idle::read, "closed at the deadline, with no response");
            }
            assertEquals(List.of("JettyServerStarter: 1 connection(s) still open, 0 request(s) running, after 1000 ms; "
                    + "stopping anyway"), launcher.stderr().lines().filter(l -> l.contains("still open")).toList());
            receiver.flush(WAIT);
            assertEquals(List.of(new Notification(pid, "READY=1"), new Notification(pid, "STOPPING=1")),
                    receiver.received().stream().filter(n -> n.pid() == pid).toList());
        }
    }

    /**
     * End to end with our start_server's {@code --readiness=notify}: an app that defers READY=1 until it has warmed up
     * is started but not yet counted as started, so the superdaemon keeps the old generation until the app says so;
     * meanwhile its TCP and unix connectors take no connection, so every new one reaches the old generation (the
     * contract case covers TCP only).
     */
    @Test
    @Timeout(120)
    void ourStartServerWaitsForTheAppsOwnReady() throws Exception {
        assumeTrue(Superdaemon.JAVA.isAvailable(), "our start_server is built");
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path unix = dir.resolve("jetty.sock");
        Path warm1 = dir.resolve("warm1");
        Path warm2 = dir.resolve("warm2");
        Path script = dir.resolve("worker.sh");
        // Each generation waits for its own file: warm1, warm2.
        Files.writeString(script, "export WARM_UP_UNTIL=" + dir + "/warm$SERVER_STARTER_GENERATION; exec \"$@\"\n");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(), "--path=" + unix,
                "--readiness=notify", "--", "sh", script.toString()));
        args.addAll(worker());
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args, Map.of(), dir)) {
            starter.awaitOutput("jetty ready gen=1 ", WAIT);
            // Connected through the backlog before the app is ready; answered once it is.
            try (HttpConnection tcp = HttpConnection.open(address); HttpConnection local = HttpConnection.open(unix)) {
                tcp.send("/");
                local.send("/");
                assertFalse(starter.output().contains(" is ready"), starter.output());
                Files.createFile(warm1);
                assertTrue(ok(tcp.read()).startsWith("gen=1 "));
                assertTrue(ok(local.read()).startsWith("gen=1 "));
            }
            starter.awaitOutput("new worker [0-9]+ is ready", WAIT);
            assertTrue(starter.output().indexOf("warmed up gen=1") < starter.output().indexOf(" is ready"),
                    starter.output());

            starter.signal("HUP");
            starter.awaitOutput("jetty ready gen=2 ", WAIT);
            for (int i = 0; i < REQUESTS_BEFORE_READY; i++) {
                // Without the gate, generation 2's acceptors would share these connections with generation 1's.
                assertTrue(ok(HttpClient.get(address, "/")).startsWith("gen=1 "), "TCP request " + i);
                assertTrue(ok(HttpClient.get(unix, "/")).startsWith("gen=1 "), "unix request " + i);
            }
            assertFalse(starter.output().contains("killing old workers"), starter.output());
            Files.createFile(warm2);
            starter.awaitOutput("killing old workers", WAIT);
            String out = starter.output();
            assertTrue(out.indexOf("warmed up gen=2") < out.indexOf("killing old workers"), out);
            Await.until("generation 2 alone answers", WAIT,
                    () -> HttpClient.get(address, "/").body().startsWith("gen=2 ")
                            && HttpClient.get(unix, "/").body().startsWith("gen=2 "));
        }
    }

    /**
     * A worker told to stop while it waits for its app to be ready, its acceptors held before accept(), drains and
     * exits at once: Jetty's shutdown of the connectors ends that wait, so neither the drain (which waits for the
     * acceptors to end, up to its timeout) nor Jetty's stop waits on a held acceptor.
     */
    @Test
    @Timeout(90)
    void aWorkerStoppedBeforeItIsReadyExitsAtOnce() throws Exception {
        assumeTrue(Superdaemon.JAVA.isAvailable(), "our start_server is built");
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(),
                "--path=" + dir.resolve("jetty.sock"), "--"));
        args.addAll(worker());
        Duration drainTimeout = Duration.ofSeconds(60);
        Map<String, String> env = Map.of("WARM_UP_UNTIL", dir.resolve("never").toString(), "DRAIN_TIMEOUT_MS",
                Long.toString(drainTimeout.toMillis()));
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args, env, dir)) {
            starter.awaitOutput("jetty ready gen=1 ", WAIT);
            long stopping = System.nanoTime();
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(WAIT), starter.output());
            Duration took = Duration.ofNanos(System.nanoTime() - stopping);
            assertTrue(took.compareTo(drainTimeout.dividedBy(4)) < 0, "stopped after " + took + ":\n"
                    + starter.output());
            assertFalse(starter.output().contains("WARN"), starter.output());
        }
    }

    /**
     * Without a superdaemon but with {@code NOTIFY_SOCKET} (systemd's {@code Type=notify}): an app that fails to start
     * never reports ready.
     */
    @Test
    @Timeout(90)
    void noReadyWhenTheServerFailsToStart() throws Exception {
        try (NotifyReceiver receiver = NotifyReceiver.bind(NotifyAddress.PATH.in(dir))) {
            ProcessBuilder pb = new ProcessBuilder(worker()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("failing.log").toFile());
            pb.environment().remove("SERVER_STARTER_PORT");
            pb.environment().put("PORT", Integer.toString(Ports.freeTcpPort()));
            pb.environment().put("NOTIFY_SOCKET", receiver.address());
            pb.environment().put("FAIL_START", "1");
            Process failing = pb.start();
            try {
                assertTrue(failing.waitFor(40, TimeUnit.SECONDS));
                assertEquals(4, failing.exitValue(), Files.readString(dir.resolve("failing.log")));
            } finally {
                failing.destroyForcibly();
            }
            receiver.flush(WAIT);
            assertTrue(receiver.received().stream().noneMatch(n -> n.pid() == failing.pid()),
                    receiver.received().toString());
        }
    }

    /** Our start_server killed with KILL: its worker sees the lifeline close, finishes its request and exits. */
    @Test
    @Timeout(90)
    void killNineOfOurStartServerStopsItsWorker() throws Exception {
        assumeTrue(Superdaemon.JAVA.isAvailable(), "superdaemon/target/start_server.jar is not built");
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(), "--interval=1", "--"));
        args.addAll(worker());
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args, Map.of(), dir)) {
            starter.awaitOutput(READY.pattern(), WAIT);
            Matcher ready = READY.matcher(starter.output());
            assertTrue(ready.find());
            ProcessHandle worker = ProcessHandle.of(Long.parseLong(ready.group(1))).orElseThrow();
            try (HttpConnection inFlight = HttpConnection.open(address)) {
                inFlight.send(ContractApp.HOLD);
                starter.awaitOutput("^hold gen=1 pid=" + worker.pid() + "$", WAIT);
                starter.signal("KILL");
                HttpResponse answer = inFlight.read();
                assertEquals("gen=1 pid=" + worker.pid() + "\n", answer.body(), answer.toString());
            }
            try {
                worker.onExit().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("the orphaned worker still runs; output:\n" + starter.output(), e);
            }
            starter.awaitOutput("^start_server is gone \\(lifeline fd \\d+ closed\\): draining and exiting$", WAIT);
        }
    }

    private static List<String> worker() {
        List<String> argv = new ArrayList<>(ChildJava.command(JettyWorker.class));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        return argv;
    }

    /** Sends requests on {@code connection}, each answered with {@code body}, until one says Connection: close. */
    private static void untilToldToClose(HttpConnection connection, String body) {
        Await.until("an answer with Connection: close", WAIT, () -> {
            try {
                assertEquals(body, ok(connection.get("/")));
            } catch (IOException e) {
                throw new AssertionError("kept-alive connection to the draining generation", e);
            }
            return connection.isClosedByServer();
        });
    }

    private static String ok(HttpResponse response) {
        assertEquals(200, response.status(), response.toString());
        return response.body();
    }
}

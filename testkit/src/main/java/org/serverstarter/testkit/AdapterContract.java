package org.serverstarter.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.NotifyReceiver.Notification;

/**
 * What every framework adapter must do, tested once for all of them on a real worker JVM, under our start_server and
 * Perl's: serve IPv4, IPv6 and unix sockets; lose no request across hot restarts under load; finish a request in
 * flight at TERM; keep an idle keep-alive connection open while draining, and end the drain as soon as the last
 * connection closes; leave the unix socket in place; fail in one line on an fd that is not a socket, and on an empty
 * {@code SERVER_STARTER_PORT}; bind a port of its own without a superdaemon; send {@code READY=1} once, when serving,
 * and {@code STOPPING=1} when retired; drain and exit once the lifeline closes.
 *
 * <p>An adapter module's test subclasses this and implements {@link #worker}, an app that uses the adapter as its
 * README shows and speaks the protocol of {@link ContractApp}:
 * <ul>
 *   <li>under a superdaemon it serves every entry of {@code SERVER_STARTER_PORT} and drains on TERM
 *       ({@code drainOnShutdown}) for at most {@link ContractApp#drainTimeout()}; without one it binds
 *       127.0.0.1:{@link ContractApp#ownPort()} itself and then calls {@code Readiness.notifyReady()};</li>
 *   <li>it answers {@code GET /} with {@link ContractApp#body()}, {@code gen=G pid=P};</li>
 *   <li>for {@code GET /hold} it calls {@link ContractApp#holdStarted()} and answers as for {@code /} only once the JVM
 *       is shutting down (or its adapter draining), so that a test can hold a request in flight across a TERM;</li>
 *   <li>when {@code SERVER_STARTER_PORT} is unusable it exits non-zero with the adapter's one line on stderr.</li>
 * </ul>
 * An adapter that cannot serve unix sockets overrides {@link #servesUnixSockets()}; it must then refuse them in one
 * line, which is tested instead. The subclass keeps its framework's own cases.
 */
public abstract class AdapterContract {
    protected static final Duration WAIT = Duration.ofSeconds(40);
    /** Long, so that a drain that runs to its timeout instead of ending with its last connection cannot pass. */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);
    /** How soon after its last connection closed a draining worker must be gone: well within the drain timeout. */
    private static final Duration DRAIN_ENDS_WITHIN = Duration.ofSeconds(10);
    private static final String HOLD_STARTED = "^hold gen=%d pid=%d$";
    /** New connections while a generation is up but not ready: with two acceptors on the socket, some would reach it. */
    private static final int REQUESTS_BEFORE_READY = 40;

    @TempDir
    protected Path dir;

    /**
     * One run of a case: the JDK the worker runs on and the run's index, 0 for the first run of the case. A case that
     * runs more than once changes the JDK and the superdaemon between its runs.
     */
    public record Run(Path jdk, int index) {
        @Override
        public String toString() {
            return jdk.getFileName() + ", run " + index;
        }
    }

    /**
     * The worker's argv on {@code jdk} (start it with {@link #java}). {@code run} is the index of the run within a
     * case, for an adapter that serves in more than one way (Netty's transports) to spread those over the runs.
     */
    protected abstract List<String> worker(Path jdk, int run);

    /** Whether the adapter serves unix sockets; one that does not must refuse them in one line. */
    protected boolean servesUnixSockets() {
        return true;
    }

    /** argv running {@code mainClass} on {@code jdk} with the flags the adapters' README asks for. */
    protected static List<String> java(Path jdk, Class<?> mainClass, String... args) {
        List<String> argv = new ArrayList<>(ChildJava.command(jdk, mainClass, args));
        // JDK 24+ warns when jnr-ffi (readiness, lifeline) or Netty's epoll load native code; JDK 17 accepts it too.
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        return argv;
    }

    /** Each available superdaemon once, with its own JDK while there are several. */
    static Stream<Arguments> underEachSuperdaemon() {
        List<Superdaemon> superdaemons = Superdaemon.available().toList();
        return IntStream.range(0, superdaemons.size()).mapToObj(i -> Arguments.of(superdaemons.get(i), run(i)));
    }

    /** Two runs without a superdaemon, on the first JDK and on the last. */
    static Stream<Run> twoRuns() {
        return Stream.of(run(0), run(1));
    }

    private static Run run(int index) {
        List<Path> jdks = ChildJava.jdks();
        return new Run(jdks.get(index % jdks.size()), index);
    }

    /**
     * One superdaemon run through the whole life of a worker: every kind of socket served as soon as the worker says
     * it is ready; {@value RestartsUnderLoad#RESTARTS} hot restarts under load; then one more restart with a request
     * in flight and an idle keep-alive connection open, which the retired generation must finish and keep,
     * exiting as soon as both are closed; the unix socket still served afterwards. Ours gates restarts on
     * {@code READY=1} ({@code --readiness=notify}); Perl's passes {@code NOTIFY_SOCKET} through, so there the test
     * receives what each generation sends: {@code READY=1} and {@code STOPPING=1}, once each.
     */
    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("underEachSuperdaemon")
    @Timeout(240)
    void servesRestartsAndDrains(Superdaemon superdaemon, Run run) throws Exception {
        InetSocketAddress v4 = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        InetSocketAddress v6 = new InetSocketAddress("::1", Ports.freeTcpPort("::1"));
        Path unix = dir.resolve("app.sock");
        Path status = dir.resolve("status");
        boolean perl = superdaemon == Superdaemon.PERL;
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + v4.getPort(), "--port=[::1]:" + v6.getPort(),
                "--status-file=" + status, "--interval=1"));
        if (servesUnixSockets()) {
            args.add("--path=" + unix);
        }
        if (!perl) {
            args.add("--readiness=notify");
        }
        args.add("--");
        args.addAll(worker(run.jdk(), run.index()));
        Map<String, String> env = new HashMap<>(Map.of("DRAIN_TIMEOUT_MS", Long.toString(DRAIN_TIMEOUT.toMillis())));

        try (NotifyReceiver receiver = perl ? NotifyReceiver.bind(NotifyAddress.ABSTRACT.in(dir)) : null) {
            if (receiver != null) {
                env.put("NOTIFY_SOCKET", receiver.address());
            }
            try (StarterProcess starter = StarterProcess.start(superdaemon, args, env, dir)) {
                long pid1 = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
                if (perl) {
                    receiver.await("READY=1", pid1, WAIT);
                    assertEquals(starter.pid(), parentOf(pid1), "READY=1 comes from the worker start_server spawned");
                } else {
                    starter.awaitOutput("new worker " + pid1 + " is ready", WAIT);
                }
                assertServes(1, pid1, v4, v6, unix);

                List<Long> pids = new ArrayList<>(RestartsUnderLoad.run(starter, v4, status, pid1));
                int generation = pids.size();
                long pid = pids.get(generation - 1);
                assertServes(generation, pid, v4, v6, unix);

                // The request in flight goes over the unix socket where there is one, so a unix connection drains too.
                long next = restartWithARequestInFlightAndAnIdleConnection(starter, status, generation, pid, v4,
                        servesUnixSockets() ? () -> HttpConnection.open(unix) : () -> HttpConnection.open(v6));
                pids.add(next);
                assertServes(generation + 1, next, v4, v6, unix);

                starter.signal("TERM");
                assertEquals(0, starter.awaitExit(WAIT), starter.output());
                if (perl) {
                    assertReadyAndStoppingOnceEach(receiver, pids);
                }
            }
        }
    }

    /**
     * HUP with a request in flight on one connection and another connection idle. The request is answered by the
     * retired generation, which keeps serving both connections until each is told to close; the idle one holds the
     * drain open, and once the client closed it the drain ends at once. Returns the new generation's pid.
     */
    private long restartWithARequestInFlightAndAnIdleConnection(StarterProcess starter, Path status, int generation,
            long pid, InetSocketAddress idleAddress, Connect inFlightConnection) throws Exception {
        String body = body(generation, pid);
        try (HttpConnection idle = HttpConnection.open(idleAddress);
             HttpConnection inFlight = inFlightConnection.open()) {
            assertEquals(body, ok(idle.get("/")));
            inFlight.send(ContractApp.HOLD);
            starter.awaitOutput(String.format(HOLD_STARTED, generation, pid), WAIT);
            starter.signal("HUP");
            // Answered only once this generation shuts down: the request was in flight when its TERM came.
            assertEquals(body, ok(inFlight.read()), "the request in flight at TERM");
            untilToldToClose(inFlight, body);
            inFlight.close();
            // Its client may be sending a request this very moment, so the idle connection must hold the drain open.
            // Only the absence of an exit can show that; a premature one gets 2 s.
            assertFalse(exitsWithin(pid, Duration.ofSeconds(2)), "generation " + generation + " exited with a "
                    + "keep-alive connection open; output:\n" + starter.output());
            untilToldToClose(idle, body);
        }
        try {
            awaitExit(pid, DRAIN_ENDS_WITHIN);
        } catch (AssertionError e) {
            throw new AssertionError("the drain did not end with its last connection (timeout "
                    + DRAIN_TIMEOUT.toSeconds() + " s): " + e.getMessage() + "; output:\n" + starter.output(), e);
        }
        long next = generation + 1L;
        return StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(next)), WAIT).get(next);
    }

    /** The generation answers over IPv4, IPv6 and, where served, the unix socket, whose file is in place. */
    private void assertServes(int generation, long pid, InetSocketAddress v4, InetSocketAddress v6, Path unix) {
        String body = body(generation, pid);
        assertEquals(body, ok(HttpClient.get(v4, "/")), "over IPv4");
        assertEquals(body, ok(HttpClient.get(v6, "/")), "over IPv6");
        if (servesUnixSockets()) {
            assertTrue(Files.exists(unix), "no generation may remove " + unix);
            assertEquals(body, ok(HttpClient.get(unix, "/")), "over the unix socket");
        }
    }

    /** What Perl's start_server passed through: from each generation READY=1, then STOPPING=1, and nothing else. */
    private static void assertReadyAndStoppingOnceEach(NotifyReceiver receiver, List<Long> pids) throws Exception {
        receiver.flush(WAIT);
        for (long pid : pids) {
            assertEquals(List.of(new Notification(pid, "READY=1"), new Notification(pid, "STOPPING=1")),
                    from(receiver, pid), "from pid " + pid);
        }
        assertEquals(Set.copyOf(pids), receiver.received().stream().filter(n -> !n.has("MARKER=1"))
                .map(Notification::pid).collect(Collectors.toSet()), "nobody else sent anything");
    }

    /**
     * A generation that defers {@code READY=1} takes no connection before it sends it: while generation 2 has started
     * its server but not said it is ready, every new connection is still answered by generation 1 (without the gate
     * the two generations' acceptors share them), and once generation 2 is ready it takes over. Ours only: it retires
     * the old generation on {@code READY=1}, where Perl's would after {@code --interval} whatever the new one does.
     */
    @Test
    @Timeout(120)
    void aGenerationThatDefersReadyTakesNoConnectionBeforeIt() throws Exception {
        InetSocketAddress v4 = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        Path ready = dir.resolve("ready");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + v4.getPort(), "--status-file=" + status,
                "--readiness=notify", "--"));
        args.addAll(worker(run(0).jdk(), 0));
        Files.createFile(Path.of(ready + ".1"));
        Map<String, String> env = Map.of("READY_FILE", ready.toString(), "DRAIN_TIMEOUT_MS",
                Long.toString(DRAIN_TIMEOUT.toMillis()));
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args, env, dir)) {
            long pid1 = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            starter.awaitOutput("new worker " + pid1 + " is ready", WAIT);
            assertEquals(body(1, pid1), ok(HttpClient.get(v4, "/")));

            starter.signal("HUP");
            starter.awaitOutput("^started gen=2 pid=\\d+$", WAIT);
            for (int i = 0; i < REQUESTS_BEFORE_READY; i++) {
                assertEquals(body(1, pid1), ok(HttpClient.get(v4, "/")),
                        "request " + i + " on a new connection while generation 2 is not ready");
            }

            Files.createFile(Path.of(ready + ".2"));
            long pid2 = StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(2L)), WAIT).get(2L);
            assertEquals(body(2, pid2), ok(HttpClient.get(v4, "/")));
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(WAIT), starter.output());
        }
    }

    /**
     * An fd that is not a socket ({@code /etc/hostname} as fd 7) makes the worker exit non-zero with one line on
     * stderr, no stack trace, and without sending anything to {@code NOTIFY_SOCKET}.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("twoRuns")
    @Timeout(60)
    void anFdThatIsNotASocketFailsInOneLine(Run run) throws Exception {
        try (NotifyReceiver receiver = NotifyReceiver.bind(NotifyAddress.PATH.in(dir))) {
            List<String> argv = new ArrayList<>(List.of("bash", "-c", "exec 7</etc/hostname; exec \"$@\"", "bash"));
            argv.addAll(worker(run.jdk(), run.index()));
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            ProcessBuilder pb = new ProcessBuilder(argv).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().put("SERVER_STARTER_PORT", "127.0.0.1:8080=7");
            pb.environment().put("NOTIFY_SOCKET", receiver.address());
            Process worker = pb.start();
            try {
                assertTrue(worker.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "the worker kept running");
                String stderr = Files.readString(err);
                assertNotEquals(0, worker.exitValue(), stderr);
                assertEquals(1, stderr.lines().count(), "one line, no stack trace:\n" + stderr);
                assertTrue(stderr.contains("SERVER_STARTER_PORT entry \"127.0.0.1:8080=7\": fd 7 is not a socket"),
                        stderr);
            } finally {
                worker.destroyForcibly();
            }
            receiver.flush(WAIT);
            assertEquals(List.of(), from(receiver, worker.pid()), "a worker that failed sent something");
        }
    }

    /**
     * A unix socket entry that the adapter cannot serve makes the worker fail in one line naming it, with no stack
     * trace; the socket stays in place.
     */
    @Test
    @Timeout(60)
    void aUnixSocketItCannotServeIsRefusedInOneLine() {
        assumeFalse(servesUnixSockets(), "the adapter serves unix sockets (servesRestartsAndDrains)");
        Path socket = dir.resolve("app.sock");
        List<String> args = new ArrayList<>(List.of("--path=" + socket, "--"));
        args.addAll(worker(ChildJava.jdks().get(0), 0));
        try (StarterProcess starter = StarterProcess.start(Superdaemon.available().findFirst().orElseThrow(), args,
                Map.of(), dir)) {
            starter.awaitOutput("seems to have failed to start, exit status:[1-9]", WAIT);
            String out = starter.output();
            assertEquals(1, out.lines().filter(l -> l.contains("cannot serve the unix socket " + socket)).count(), out);
            assertFalse(out.contains("\tat "), out);
            assertTrue(Files.exists(socket), "the socket path stays in place");
        }
    }

    /**
     * start_server given no {@code --port} and no {@code --path} passes an empty {@code SERVER_STARTER_PORT}: the
     * worker fails in one line, rather than serve nothing or bind a port of its own that no next generation shares.
     */
    @Test
    @Timeout(60)
    void noSocketAtAllIsRefusedInOneLine() {
        List<String> args = new ArrayList<>(List.of("--"));
        args.addAll(worker(ChildJava.jdks().get(0), 0));
        try (StarterProcess starter = StarterProcess.start(Superdaemon.available().findFirst().orElseThrow(), args,
                Map.of(), dir)) {
            starter.awaitOutput("seems to have failed to start, exit status:[1-9]", WAIT);
            String out = starter.output();
            assertEquals(1, out.lines().filter(l -> l.contains("SERVER_STARTER_PORT is set but names no socket"))
                    .count(), out);
            assertFalse(out.contains("\tat "), out);
        }
    }

    /** Without {@code SERVER_STARTER_PORT} the app binds a port of its own, and says READY=1 itself once it serves. */
    @Test
    @Timeout(60)
    void withoutASuperdaemonItBindsItsOwnPort() throws Exception {
        InetSocketAddress own = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        try (NotifyReceiver receiver = NotifyReceiver.bind(NotifyAddress.PATH.in(dir))) {
            ProcessBuilder pb = new ProcessBuilder(worker(ChildJava.jdks().get(0), 0)).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("out").toFile());
            pb.environment().remove("SERVER_STARTER_PORT");
            pb.environment().remove("SERVER_STARTER_LIFELINE");
            pb.environment().put("PORT", Integer.toString(own.getPort()));
            pb.environment().put("NOTIFY_SOCKET", receiver.address());
            Process worker = pb.start();
            try {
                receiver.await("READY=1", worker.pid(), WAIT);
                assertEquals(body(0, worker.pid()), ok(HttpClient.get(own, "/")), "serving when READY=1 arrives");
            } finally {
                worker.destroy();
                worker.waitFor(20, TimeUnit.SECONDS);
                worker.destroyForcibly();
            }
        }
    }

    /**
     * The adapter watches the lifeline without the app asking: once it closes, as when start_server dies, the worker
     * finishes the request in flight, drains and exits with 143, as on TERM.
     */
    @Test
    @Timeout(90)
    void aClosedLifelineDrainsAndExitsAsOnTerm() throws Exception {
        try (LifelineLauncher launcher = LifelineLauncher.start(LifelineLauncher.Variable.PIPE,
                worker(ChildJava.jdks().get(0), 0), dir)) {
            long pid = launcher.worker().pid();
            String body = body(1, pid);
            Await.until("the worker to serve", WAIT, () -> answers(launcher.address(), body));
            try (HttpConnection inFlight = HttpConnection.open(launcher.address())) {
                inFlight.send(ContractApp.HOLD);
                launcher.awaitOutput(String.format(HOLD_STARTED, 1, pid), WAIT);
                launcher.cut();
                assertEquals(body, ok(inFlight.read()), "the request in flight when the lifeline closed");
                untilToldToClose(inFlight, body);
            }
            assertEquals(143, launcher.awaitExit(WAIT), launcher.stdout());
            assertEquals(List.of("start_server is gone (lifeline fd " + launcher.pipeFd()
                    + " closed): draining and exiting"), launcher.lifelineLines());
        }
    }

    private interface Connect {
        HttpConnection open() throws IOException;
    }

    /** What the worker of {@code generation} with {@code pid} answers. */
    private static String body(int generation, long pid) {
        return "gen=" + generation + " pid=" + pid + "\n";
    }

    /**
     * Sends requests on {@code connection} until an answer says {@code Connection: close}: a draining server tells each
     * connection at some answer within its spread, and must answer every request until then.
     */
    private static void untilToldToClose(HttpConnection connection, String body) {
        Await.until("an answer with Connection: close", WAIT, () -> {
            if (connection.isClosedByServer()) {
                return true;
            }
            try {
                assertEquals(body, ok(connection.get("/")));
            } catch (IOException e) {
                throw new AssertionError("a kept-alive connection to the draining generation failed", e);
            }
            return connection.isClosedByServer();
        });
    }

    private static boolean answers(InetSocketAddress address, String body) {
        try {
            return ok(HttpClient.get(address, "/")).equals(body);
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean exitsWithin(long pid, Duration window) throws Exception {
        ProcessHandle process = ProcessHandle.of(pid).orElse(null);
        if (process == null) {
            return true;
        }
        try {
            process.onExit().get(window.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }

    private static void awaitExit(long pid, Duration timeout) {
        Await.until("pid " + pid + " to exit", timeout,
                () -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
    }

    private static List<Notification> from(NotifyReceiver receiver, long pid) {
        return receiver.received().stream().filter(n -> n.pid() == pid).toList();
    }

    private static long parentOf(long pid) {
        return ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L);
    }

    private static String ok(HttpResponse response) {
        assertEquals(200, response.status(), response.toString());
        return response.body();
    }
}

package org.serverstarter.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.epoll.Epoll;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.netty.NettyServerStarter.Transport;
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
 * {@link HelloServer} on {@link NettyServerStarter} under a real superdaemon: Perl's {@code start_server} and ours. To stay
 * within a few minutes on a small machine the scenarios do not take the full cross product: every transport runs on
 * every worker JDK in {@link #servesTcpV4V6AndUnix}, and the other scenarios spread transports, JDKs and
 * superdaemons over their cases.
 */
class NettyServerStarterIT {
    private static final Duration START = Duration.ofSeconds(45);
    private static final int O_NONBLOCK = 04000;
    private static final Pattern IDENTITY = Pattern.compile("gen=(\\d+) pid=(\\d+)");

    @TempDir
    Path dir;

    /** One run's superdaemon, worker transport and worker JDK. */
    record Case(Superdaemon superdaemon, Transport transport, Path jdk) {
        @Override
        public String toString() {
            return superdaemon + " " + transport + " " + jdk.getFileName();
        }
    }

    static Stream<Case> everyTransportOnEveryJdk() {
        List<Superdaemon> daemons = superdaemons();
        List<Transport> transports = transports();
        List<Path> jdks = ChildJava.jdks();
        List<Case> cases = new ArrayList<>();
        for (int t = 0; t < transports.size(); t++) {
            for (int j = 0; j < jdks.size(); j++) {
                // Diagonal, so that each superdaemon also meets each transport and each JDK.
                cases.add(new Case(daemons.get((t + j) % daemons.size()), transports.get(t), jdks.get(j)));
            }
        }
        return cases.stream();
    }

    /** Two cases that differ in everything: superdaemon, transport and JDK. */
    static Stream<Case> twoCases() {
        return spread(0);
    }

    /** Like {@link #twoCases()}, with the transports and superdaemons swapped relative to the JDKs. */
    static Stream<Case> twoOtherCases() {
        return spread(1);
    }

    private static Stream<Case> spread(int shift) {
        List<Superdaemon> daemons = superdaemons();
        List<Transport> transports = transports();
        List<Path> jdks = ChildJava.jdks();
        return Stream.of(0, 1).map(i -> new Case(daemons.get((i + shift) % daemons.size()),
                transports.get((i + shift) % transports.size()), jdks.get((jdks.size() - 1) * i)));
    }

    private static List<Superdaemon> superdaemons() {
        List<Superdaemon> daemons = Superdaemon.available().toList();
        if (daemons.isEmpty()) {
            throw new IllegalStateException("no superdaemon: neither /usr/bin/start_server nor bin/start_server");
        }
        return daemons;
    }

    private static List<Transport> transports() {
        return Epoll.isAvailable() ? List.of(Transport.EPOLL, Transport.NIO) : List.of(Transport.NIO);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("everyTransportOnEveryJdk")
    @Timeout(120)
    void servesTcpV4V6AndUnix(Case c) throws IOException {
        InetSocketAddress v4 = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        InetSocketAddress v6 = new InetSocketAddress("::1", Ports.freeTcpPort());
        Path socket = dir.resolve("app.sock");
        try (StarterProcess sd = start(c, List.of("--port=127.0.0.1:" + v4.getPort(), "--port=[::1]:" + v6.getPort(),
                "--path=" + socket))) {
            awaitGeneration(1, v4);
            assertEquals(1, generation(HttpClient.get(v6, "/")));
            assertEquals(1, generation(HttpClient.get(socket, "/")));
            sd.awaitOutput("HelloServer serving " + c.transport(), START);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("twoCases")
    @Timeout(180)
    void hupRestartLosesNoRequestAndKeepsTheUnixSocket(Case c) throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path socket = dir.resolve("app.sock");
        Path status = dir.resolve("status");
        try (StarterProcess sd = start(c, List.of("--port=127.0.0.1:" + address.getPort(), "--path=" + socket,
                "--status-file=" + status))) {
            long oldPid = pid(awaitGeneration(1, address));
            // One client keeps its connection as long as the server lets it, the other connects for every request.
            Load keepAlive = new Load(address, false);
            Load reconnecting = new Load(address, true);
            List<Thread> clients = List.of(new Thread(keepAlive, "keep-alive load"),
                    new Thread(reconnecting, "reconnecting load"));
            clients.forEach(Thread::start);
            try {
                Await.until("10 answers from generation 1", START,
                        () -> keepAlive.answered(1) >= 10 && reconnecting.answered(1) >= 10);
                sd.signal("HUP");
                StatusFile.awaitGenerations(status, gens -> gens.keySet().equals(Collections.singleton(2L)), START);
                Await.until("10 answers from generation 2", START,
                        () -> keepAlive.answered(2) >= 10 && reconnecting.answered(2) >= 10);
            } finally {
                keepAlive.stop();
                reconnecting.stop();
                for (Thread client : clients) {
                    client.join(TimeUnit.SECONDS.toMillis(60));
                }
            }
            assertFalse(clients.stream().anyMatch(Thread::isAlive), "a load client did not stop");
            assertEquals(List.of(), keepAlive.failures(), "requests lost across the restart (keep-alive)");
            assertEquals(List.of(), reconnecting.failures(), "requests lost across the restart (reconnecting)");
            assertTrue(keepAlive.closesSeen() >= 1, "generation 1 never answered with Connection: close while draining");
            assertFalse(ProcessHandle.of(oldPid).map(ProcessHandle::isAlive).orElse(false), "generation 1 still runs");
            assertTrue(Files.exists(socket), "generation 1 removed the shared unix socket " + socket);
            assertEquals(2, generation(HttpClient.get(socket, "/")));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("twoOtherCases")
    @Timeout(180)
    void termLetsTheRequestInFlightFinish(Case c) throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path socket = dir.resolve("app.sock");
        // One case drains a TCP connection, the other a unix one.
        boolean overUnix = c.transport() == Transport.NIO;
        try (StarterProcess sd = start(c, List.of("--port=127.0.0.1:" + address.getPort(), "--path=" + socket))) {
            long workerPid = pid(awaitGeneration(1, address));
            try (HttpConnection idle = overUnix ? HttpConnection.open(socket) : HttpConnection.open(address);
                 HttpConnection inFlight = overUnix ? HttpConnection.open(socket) : HttpConnection.open(address)) {
                HttpResponse before = idle.get("/");
                assertEquals(200, before.status());
                assertNotEquals("close", before.header("connection"));

                inFlight.send("/until-drain");
                sd.awaitOutput("^until-drain received", START);
                sd.signal("TERM");

                HttpResponse drained = inFlight.read();
                assertEquals(200, drained.status(), drained.body());
                assertTrue(drained.body().startsWith("drained"), drained.body());
                // The idle keep-alive connection must hold the drain open: closing it now could cut off a request
                // the client is sending. Only the absence of an exit can show that, so give a premature one 2 s.
                assertFalse(exitsWithin(workerPid, Duration.ofSeconds(2)), "the worker exited with a connection open");
                // That connection is told to close on its next request, which ends the drain.
                HttpResponse after = idle.get("/");
                assertEquals(200, after.status());
                assertEquals("close", after.header("connection"));
                // The in-flight answer came within the drain's spread, which may have kept its connection open too
                // (Drain#closesConnection); then its next request is told, the spread being over.
                if (!"close".equals(drained.header("connection"))) {
                    HttpResponse next = inFlight.get("/");
                    assertEquals(200, next.status());
                    assertEquals("close", next.header("connection"));
                }
            }
            sd.awaitExit(Duration.ofSeconds(40));
            assertFalse(ProcessHandle.of(workerPid).map(ProcessHandle::isAlive).orElse(false), "the worker still runs");
        }
    }

    /**
     * The superdaemons hand down blocking sockets, and Netty's epoll transport accepts until the socket has nothing
     * left. On a blocking socket that last {@code accept()} would wait for the next connection, and the event loop
     * thread running it would serve nothing meanwhile; with two generations on the socket (the old one kept by
     * {@code --signal-on-hup=CONT}) both are woken for each connection and the one that loses the race would wait
     * the same way. So: keep-alive connections are opened one by one, each must be answered, and each must still be
     * answered after the later ones arrived, with one generation and then with two.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("epollOnEachSuperdaemon")
    @Timeout(180)
    void keepAliveConnectionsStayServedWhileNewOnesArrive(Case c) throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        try (StarterProcess sd = start(c, List.of("--port=127.0.0.1:" + address.getPort(), "--signal-on-hup=CONT",
                "--status-file=" + status))) {
            List<HttpConnection> kept = new ArrayList<>();
            try {
                awaitGeneration(1, address);
                openEachAndAskAll(kept, address, 4);

                sd.signal("HUP");
                StatusFile.awaitGenerations(status, gens -> gens.keySet().equals(Set.of(1L, 2L)), START);
                awaitGeneration(2, address);
                openEachAndAskAll(kept, address, 24);
                // What the README promises, and what makes the above work: the shared socket is non-blocking now.
                for (long pid : StatusFile.read(status).values()) {
                    assertTrue(isNonBlocking(pid, address), "worker " + pid + " accepts on a blocking socket");
                }
            } finally {
                // Before the superdaemon's TERM, so that the drains need not wait for these connections.
                for (HttpConnection connection : kept) {
                    connection.close();
                }
            }
        }
    }

    static Stream<Case> epollOnEachSuperdaemon() {
        assumeTrue(Epoll.isAvailable(), "no epoll here: " + Epoll.unavailabilityCause());
        List<Superdaemon> daemons = superdaemons();
        List<Path> jdks = ChildJava.jdks();
        List<Case> cases = new ArrayList<>();
        for (int d = 0; d < daemons.size(); d++) {
            cases.add(new Case(daemons.get(d), Transport.EPOLL, jdks.get(d % jdks.size())));
        }
        return cases.stream();
    }

    /**
     * Opens {@code count} keep-alive connections one at a time; after each, asks every kept connection once. Every
     * new connection is a race between the generations' accept calls, and a loser stuck in a blocking accept shows as
     * a kept connection on its event loop that gets no answer ({@link HttpConnection}'s read deadline).
     */
    private static void openEachAndAskAll(List<HttpConnection> kept, InetSocketAddress address, int count)
            throws IOException {
        for (int i = 0; i < count; i++) {
            kept.add(HttpConnection.open(address));
            for (int k = kept.size() - 1; k >= 0; k--) {
                ask(kept, k, "after connection " + (kept.size() - 1) + " opened");
            }
        }
    }

    /** Whether the socket {@code pid} inherited for {@code address} has {@code O_NONBLOCK}, as the kernel says. */
    private static boolean isNonBlocking(long pid, InetSocketAddress address) throws IOException {
        String entry = "SERVER_STARTER_PORT=127.0.0.1:" + address.getPort() + "=";
        String fd = Stream.of(Files.readString(Path.of("/proc/" + pid + "/environ"), StandardCharsets.ISO_8859_1).split("\0"))
                .filter(variable -> variable.startsWith(entry)).map(variable -> variable.substring(entry.length()))
                .findFirst().orElseThrow(() -> new AssertionError("worker " + pid + " has no " + entry));
        Matcher flags = Pattern.compile("^flags:\\s+([0-7]+)$", Pattern.MULTILINE)
                .matcher(Files.readString(Path.of("/proc/" + pid + "/fdinfo/" + fd)));
        assertTrue(flags.find(), "no flags for fd " + fd + " of worker " + pid);
        return (Integer.parseInt(flags.group(1), 8) & O_NONBLOCK) != 0;
    }

    private static void ask(List<HttpConnection> kept, int index, String when) {
        HttpResponse r;
        try {
            r = kept.get(index).get("/");
        } catch (IOException e) {
            throw new AssertionError("keep-alive connection " + index + " of " + kept.size() + ", " + when
                    + ", got no answer: " + e, e);
        }
        assertEquals(200, r.status(), r.body());
        assertFalse(kept.get(index).isClosedByServer(), "connection " + index + " closed by the server: " + r);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("twoCases")
    @Timeout(120)
    void anFdThatIsNotASocketFailsWithOneClearLine(Case c) throws Exception {
        Path log = dir.resolve("worker.log");
        // Without a superdaemon: fd 0 of a child started by ProcessBuilder is a pipe.
        ProcessBuilder pb = new ProcessBuilder(worker(c)).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SERVER_STARTER_PORT", "127.0.0.1:9=0");
        Process worker = pb.start();
        try {
            assertTrue(worker.waitFor(60, TimeUnit.SECONDS), "the worker kept running with a broken contract");
            String output = Files.readString(log);
            assertNotEquals(0, worker.exitValue(), output);
            assertTrue(output.contains("HelloServer: SERVER_STARTER_PORT entry \"127.0.0.1:9=0\": fd 0 is not a socket"),
                    output);
        } finally {
            worker.destroyForcibly();
        }
    }

    @Test
    @Timeout(120)
    void nioWithoutTheJvmFlagSaysWhichFlagIsMissing() {
        Case c = new Case(superdaemons().get(0), Transport.NIO, ChildJava.jdks().get(0));
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + Ports.freeTcpPort(), "--"));
        args.addAll(worker(c));
        assertTrue(args.remove(ChildJava.ADD_OPENS));
        try (StarterProcess sd = StarterProcess.start(c.superdaemon(), args, Map.of(), dir)) {
            sd.awaitOutput("HelloServer: SERVER_STARTER_PORT entry .*--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", START);
        }
    }

    private StarterProcess start(Case c, List<String> listenOptions) {
        List<String> args = new ArrayList<>(listenOptions);
        args.add("--");
        args.addAll(worker(c));
        return StarterProcess.start(c.superdaemon(), args, Map.of(), dir);
    }

    private static List<String> worker(Case c) {
        List<String> argv = new ArrayList<>(ChildJava.command(c.jdk(), HelloServer.class, c.transport().name()));
        // JDK 24+ warns when Netty loads its native library; JDK 17 accepts the flag too.
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        if (c.transport() == Transport.EPOLL) {
            // The README promises that epoll needs no --add-opens; every epoll case runs without it.
            assertTrue(argv.remove(ChildJava.ADD_OPENS));
        }
        return argv;
    }

    private static boolean exitsWithin(long pid, Duration window) throws Exception {
        Optional<ProcessHandle> worker = ProcessHandle.of(pid);
        if (worker.isEmpty()) {
            return true;
        }
        try {
            worker.get().onExit().get(window.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }

    /** Waits until the worker of {@code generation} answers on {@code address}, and returns that answer. */
    private static HttpResponse awaitGeneration(long generation, InetSocketAddress address) {
        HttpResponse[] answer = new HttpResponse[1];
        Await.until("generation " + generation + " answering on " + address, START, () -> {
            try {
                answer[0] = HttpClient.get(address, "/");
                return answer[0].status() == 200 && generation(answer[0]) == generation;
            } catch (RuntimeException e) {
                return false;
            }
        });
        return answer[0];
    }

    private static long generation(HttpResponse response) {
        return Long.parseLong(identity(response).group(1));
    }

    private static long pid(HttpResponse response) {
        return Long.parseLong(identity(response).group(2));
    }

    private static Matcher identity(HttpResponse response) {
        Matcher m = IDENTITY.matcher(response.body());
        assertTrue(m.find(), "no gen=/pid= in " + response);
        return m;
    }

    /**
     * One client sending requests back to back, on a new connection each time or on a keep-alive connection that it
     * replaces only when the server says {@code Connection: close}. Any error or non-200 answer is a lost request.
     * Bounded in count and time.
     */
    private static final class Load implements Runnable {
        private static final int MAX_REQUESTS = 200_000;
        private static final Duration MAX_TIME = Duration.ofSeconds(120);

        private final InetSocketAddress address;
        private final boolean reconnectEachTime;
        private final Map<Long, AtomicInteger> answersByGeneration = new ConcurrentHashMap<>();
        private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
        private final AtomicInteger closesSeen = new AtomicInteger();
        private volatile boolean stopped;

        Load(InetSocketAddress address, boolean reconnectEachTime) {
            this.address = address;
            this.reconnectEachTime = reconnectEachTime;
        }

        @Override
        public void run() {
            long deadline = System.nanoTime() + MAX_TIME.toNanos();
            HttpConnection connection = null;
            try {
                for (int i = 0; i < MAX_REQUESTS && !stopped && System.nanoTime() - deadline < 0; i++) {
                    try {
                        if (connection == null) {
                            connection = HttpConnection.open(address);
                        }
                        HttpResponse r = connection.get("/");
                        if (r.status() == 200) {
                            answersByGeneration.computeIfAbsent(generation(r), g -> new AtomicInteger()).incrementAndGet();
                        } else {
                            failures.add("request " + i + ": " + r);
                        }
                        if (connection.isClosedByServer() || reconnectEachTime) {
                            if (connection.isClosedByServer()) {
                                closesSeen.incrementAndGet();
                            }
                            connection.close();
                            connection = null;
                        }
                    } catch (IOException | RuntimeException e) {
                        failures.add("request " + i + ": " + e);
                        closeQuietly(connection);
                        connection = null;
                    }
                }
            } finally {
                closeQuietly(connection);
            }
        }

        int answered(long generation) {
            AtomicInteger n = answersByGeneration.get(generation);
            return n == null ? 0 : n.get();
        }

        int closesSeen() {
            return closesSeen.get();
        }

        List<String> failures() {
            synchronized (failures) {
                return List.copyOf(failures.subList(0, Math.min(20, failures.size())));
            }
        }

        void stop() {
            stopped = true;
        }

        private static void closeQuietly(HttpConnection connection) {
            if (connection != null) {
                try {
                    connection.close();
                } catch (IOException e) {
                    // the test only counts request failures
                }
            }
        }
    }
}

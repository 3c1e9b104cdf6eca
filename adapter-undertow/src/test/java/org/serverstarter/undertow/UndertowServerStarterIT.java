package org.serverstarter.undertow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/**
 * {@link UndertowWorker} in a child JVM under a real start_server (Perl's, and ours once built), on JDK 17 and
 * Temurin 25. The matrix is kept small: every JDK and every superdaemon answers requests, the restart and drain
 * cases run once per superdaemon.
 */
class UndertowServerStarterIT {
    private static final Duration START = Duration.ofSeconds(30);
    private static final Pattern SERVING = Pattern.compile("worker (\\d+) serving");

    @TempDir
    Path dir;

    private final List<StarterProcess> started = new ArrayList<>();

    @AfterEach
    void stopSuperdaemons() {
        started.forEach(StarterProcess::close);
    }

    /** Each JDK paired with a superdaemon, taking turns so that both superdaemons appear when both exist. */
    static Stream<Arguments> jdkUnderSuperdaemon() {
        List<Superdaemon> superdaemons = Superdaemon.available().toList();
        List<Path> jdks = ChildJava.jdks();
        List<Arguments> pairs = new ArrayList<>();
        for (int i = 0; i < jdks.size(); i++) {
            pairs.add(Arguments.of(superdaemons.get(i % superdaemons.size()), jdks.get(i)));
        }
        return pairs.stream();
    }

    static Stream<Superdaemon> superdaemons() {
        return Superdaemon.available();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("jdkUnderSuperdaemon")
    @Timeout(90)
    void answersOnIpv4AndIpv6Loopback(Superdaemon superdaemon, Path jdk) throws IOException {
        int v4 = Ports.freeTcpPort();
        int v6 = freeIpv6LoopbackPort();
        StarterProcess starter = start(superdaemon, jdk, "--port=127.0.0.1:" + v4, "--port=[::1]:" + v6);
        long pid = awaitServing(starter);

        HttpResponse overV4 = HttpClient.get(new InetSocketAddress("127.0.0.1", v4), "/");
        HttpResponse overV6 = HttpClient.get(new InetSocketAddress("::1", v6), "/");
        assertEquals(200, overV4.status());
        assertEquals("pid=" + pid, overV4.body());
        assertEquals(200, overV6.status());
        assertEquals("pid=" + pid, overV6.body());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("superdaemons")
    @Timeout(120)
    void hupRestartLosesNoRequest(Superdaemon superdaemon) throws Exception {
        int port = Ports.freeTcpPort();
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
        StarterProcess starter = start(superdaemon, currentJdk(), "--port=127.0.0.1:" + port);
        long oldPid = awaitServing(starter);

        Load load = new Load(address);
        load.start();
        try {
            load.await("the load to reach the first worker", () -> load.answeredBy("pid=" + oldPid));
            starter.signal("HUP");
            load.await("a response from a new worker",
                    () -> load.bodies.stream().anyMatch(body -> !body.equals("pid=" + oldPid)));
            Await.until("the old worker " + oldPid + " to exit", START,
                    () -> ProcessHandle.of(oldPid).map(p -> !p.isAlive()).orElse(true));
            int afterExit = load.count.get();
            load.await("20 more requests after the old worker exited", () -> load.count.get() >= afterExit + 20);
        } finally {
            load.finish();
        }
        assertEquals(List.of(), load.failures, "requests lost during the restart");
        assertTrue(starter.output().contains("worker " + oldPid + " stopped, drained=true"), starter.output());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("superdaemons")
    @Timeout(90)
    void termLetsAnInFlightRequestFinish(Superdaemon superdaemon) throws IOException {
        List<Path> jdks = ChildJava.jdks();
        int port = Ports.freeTcpPort();
        StarterProcess starter = start(superdaemon, jdks.get(jdks.size() - 1), "--port=127.0.0.1:" + port);
        long pid = awaitServing(starter);

        try (HttpConnection slow = HttpConnection.open(new InetSocketAddress("127.0.0.1", port))) {
            slow.send("/slow?ms=1500");
            starter.awaitOutput("worker " + pid + " slow request started", START);
            starter.signal("TERM");

            HttpResponse response = slow.read();
            assertEquals(200, response.status());
            assertEquals("slow done pid=" + pid, response.body());
            assertEquals("close", response.header("connection"));
        }
        starter.awaitExit(START);
        assertTrue(starter.output().contains("worker " + pid + " stopped, drained=true"), starter.output());
    }

    @Test
    @Timeout(60)
    void unixSocketEntryFailsWithOneClearLine() {
        Path socket = dir.resolve("app.sock");
        StarterProcess starter = start(Superdaemon.available().findFirst().orElseThrow(), currentJdk(),
                "--path=" + socket);
        starter.awaitOutput("StarterException: adapter-undertow cannot serve the unix socket "
                + Pattern.quote(socket.toString()) + ": XNIO's NIO transport supports only TCP", START);
        starter.awaitOutput("failed to start, exit status:256", START);
        assertTrue(Files.exists(socket), "the socket path stays in place");
    }

    @Test
    @Timeout(60)
    void fdThatIsNotASocketFailsLoudly() throws Exception {
        int port = Ports.freeTcpPort();
        Path log = dir.resolve("worker.log");
        ProcessBuilder builder = new ProcessBuilder(ChildJava.command(UndertowWorker.class))
                .redirectErrorStream(true).redirectOutput(log.toFile());
        // The child's stdin (fd 0) is a pipe from this JVM: open, but not a socket.
        builder.environment().put("SERVER_STARTER_PORT", "127.0.0.1:" + port + "=0");
        Process worker = builder.start();
        try {
            assertTrue(worker.waitFor(START.toSeconds(), TimeUnit.SECONDS), "the worker exits by itself");
            String output = Files.readString(log, StandardCharsets.UTF_8);
            assertEquals(1, worker.exitValue(), output);
            assertTrue(output.contains("StarterException: SERVER_STARTER_PORT entry \"127.0.0.1:" + port + "=0\""),
                    output);
        } finally {
            worker.destroyForcibly();
            worker.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Pins a limitation the README documents: jboss-threads, which XNIO's worker uses, needs sun.misc.Unsafe, and
     * JDK 24+ can deny it. Should a later jboss-threads drop Unsafe, this fails and the README needs updating.
     */
    @Test
    @Timeout(60)
    void deniedUnsafeMemoryAccessIsNamedInOneLine() {
        Path jdk = ChildJava.jdks().stream().filter(home -> featureVersion(home) >= 24).findFirst().orElse(null);
        Assumptions.assumeTrue(jdk != null, "no JDK 24+ to run the worker on");
        List<String> worker = new ArrayList<>(ChildJava.command(jdk, UndertowWorker.class));
        worker.add(1, "--sun-misc-unsafe-memory-access=deny");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + Ports.freeTcpPort(), "--"));
        args.addAll(worker);
        StarterProcess starter = StarterProcess.start(Superdaemon.available().findFirst().orElseThrow(), args,
                Map.of(), dir);
        started.add(starter);
        starter.awaitOutput("StarterException: cannot start the XNIO worker .*"
                + Pattern.quote("--sun-misc-unsafe-memory-access=deny"), START);
    }

    private StarterProcess start(Superdaemon superdaemon, Path jdk, String... ports) {
        List<String> args = new ArrayList<>(List.of(ports));
        args.add("--");
        args.addAll(ChildJava.command(jdk, UndertowWorker.class));
        StarterProcess starter = StarterProcess.start(superdaemon, args, Map.of(), dir);
        started.add(starter);
        return starter;
    }

    private static long awaitServing(StarterProcess starter) {
        starter.awaitOutput(SERVING.pattern(), START);
        Matcher matcher = SERVING.matcher(starter.output());
        assertTrue(matcher.find());
        return Long.parseLong(matcher.group(1));
    }

    /** The JDK's feature release number, from the {@code release} file every JDK image carries. */
    private static int featureVersion(Path javaHome) {
        try {
            Matcher version = Pattern.compile("^JAVA_VERSION=\"(\\d+)", Pattern.MULTILINE)
                    .matcher(Files.readString(javaHome.resolve("release")));
            return version.find() ? Integer.parseInt(version.group(1)) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path currentJdk() {
        return Path.of(System.getProperty("java.home"));
    }

    private static int freeIpv6LoopbackPort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("::1"))) {
            return probe.getLocalPort();
        }
    }

    /**
     * One client thread sending GETs back to back, alternating a kept-alive connection (reopened when the server
     * answers {@code Connection: close}) and a fresh connection per request. Bounded in count and time.
     */
    private static final class Load extends Thread {
        private static final int MAX_REQUESTS = 20_000;
        private static final Duration MAX_TIME = Duration.ofSeconds(90);

        final Set<String> bodies = ConcurrentHashMap.newKeySet();
        final List<String> failures = new CopyOnWriteArrayList<>();
        final AtomicInteger count = new AtomicInteger();
        private final AtomicBoolean finish = new AtomicBoolean();
        private final InetSocketAddress address;

        Load(InetSocketAddress address) {
            super("http-load");
            this.address = address;
        }

        /** Waits for {@code condition}; fails early, with what was recorded, if the load ended first. */
        void await(String what, BooleanSupplier condition) {
            Await.until(what, START, () -> condition.getAsBoolean() || !isAlive());
            assertTrue(condition.getAsBoolean(), what + ": the load ended first, after " + count.get()
                    + " requests; failures: " + failures);
        }

        boolean answeredBy(String body) {
            return bodies.contains(body);
        }

        @Override
        public void run() {
            long end = System.nanoTime() + MAX_TIME.toNanos();
            HttpConnection keptAlive = null;
            try {
                while (!finish.get() && count.get() < MAX_REQUESTS && System.nanoTime() < end) {
                    try {
                        if (keptAlive == null || keptAlive.isClosedByServer()) {
                            if (keptAlive != null) {
                                keptAlive.close();
                            }
                            keptAlive = HttpConnection.open(address);
                        }
                        record(keptAlive.get("/"));
                        record(HttpClient.get(address, "/"));
                    } catch (IOException | RuntimeException e) {
                        failures.add("request " + count.get() + ": " + e);
                        keptAlive = closeQuietly(keptAlive);
                    }
                }
            } finally {
                closeQuietly(keptAlive);
            }
        }

        private void record(HttpResponse response) {
            count.incrementAndGet();
            if (response.status() == 200) {
                bodies.add(response.body());
            } else {
                failures.add("status " + response.status() + ": " + response.body());
            }
        }

        void finish() throws InterruptedException {
            finish.set(true);
            join(TimeUnit.SECONDS.toMillis(40));
        }

        private static HttpConnection closeQuietly(HttpConnection connection) {
            if (connection != null) {
                try {
                    connection.close();
                } catch (IOException e) {
                    // the failure that led here is already recorded
                }
            }
            return null;
        }
    }
}

package org.serverstarter.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
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
import java.util.stream.Stream;
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
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * A real Jetty in a child JVM under a real superdaemon: serves TCP v4, TCP v6 and a unix socket, survives a HUP restart
 * under a steady stream of requests without losing one, finishes a slow request that was in flight when its generation
 * got TERM, leaves the unix socket file in place, and keeps an idle keep-alive connection until the drain timeout.
 */
class JettyServerStarterIT {
    private static final Duration WAIT = Duration.ofSeconds(40);

    @TempDir
    Path dir;

    static Stream<Arguments> superdaemonsAndJdks() {
        return Superdaemon.available().flatMap(s -> ChildJava.jdks().stream().map(jdk -> Arguments.of(s, jdk)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("superdaemonsAndJdks")
    @Timeout(150)
    void servesRestartsAndDrains(Superdaemon superdaemon, Path jdk) throws Exception {
        InetSocketAddress v4 = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        InetSocketAddress v6 = new InetSocketAddress("::1", Ports.freeTcpPort());
        Path unix = dir.resolve("jetty.sock");
        Path status = dir.resolve("status");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + v4.getPort(), "--port=[::1]:" + v6.getPort(),
                "--path=" + unix, "--status-file=" + status, "--interval=1", "--"));
        args.addAll(ChildJava.command(jdk, JettyWorker.class));

        try (StarterProcess starter = StarterProcess.start(superdaemon, args, Map.of(), dir)) {
            long pid1 = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            starter.awaitOutput("jetty ready gen=1 ", WAIT);
            String gen1 = "gen=1 pid=" + pid1 + "\n";
            assertEquals(gen1, ok(HttpClient.get(v4, "/")));
            assertEquals(gen1, ok(HttpClient.get(v6, "/")));
            assertEquals(gen1, ok(HttpClient.get(unix, "/")));

            try (Load load = new Load(v4, v6);
                 HttpConnection slow = HttpConnection.open(v4)) {
                slow.send("/sleep?ms=1500");
                starter.awaitOutput("sleep started gen=1$", WAIT);
                starter.signal("HUP");
                long pid2 = StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(2L)), WAIT).get(2L);
                try {
                    Await.until("20 answers from generation 2 under load", WAIT, () -> load.answersFrom(pid2) >= 20);
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "; answers " + load.answersByBody + ", failures "
                            + load.failures + ", output:\n" + starter.output(), e);
                }
                load.stop();
                assertEquals(List.of(), load.failures);
                assertTrue(load.answersFrom(pid1) > 0, "the load started before the restart");

                assertEquals(gen1, ok(slow.read()), "the request in flight at TERM was answered by generation 1");
                assertTrue(Files.exists(unix), "generation 1 must not remove " + unix);
                String gen2 = "gen=2 pid=" + pid2 + "\n";
                assertEquals(gen2, ok(HttpClient.get(unix, "/")));
                assertEquals(gen2, ok(HttpClient.get(v6, "/")));
            }

            // The same drain when the superdaemon itself is told to stop.
            try (HttpConnection slow = HttpConnection.open(unix)) {
                slow.send("/sleep?ms=1500");
                starter.awaitOutput("sleep started gen=2$", WAIT);
                starter.signal("TERM");
                HttpResponse last = slow.read();
                assertEquals(200, last.status());
                assertEquals("close", last.header("connection"));
            }
            assertEquals(0, starter.awaitExit(WAIT));
        }
    }

    @Test
    @Timeout(90)
    void idleKeepAliveConnectionIsKeptUntilTheDrainTimeout() throws Exception {
        Superdaemon superdaemon = Superdaemon.available().findFirst().orElseThrow();
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(),
                "--status-file=" + status, "--interval=1", "--"));
        args.addAll(ChildJava.command(JettyWorker.class));

        try (StarterProcess starter = StarterProcess.start(superdaemon, args, Map.of("DRAIN_TIMEOUT_MS", "3000"), dir)) {
            long pid1 = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            starter.awaitOutput("jetty ready gen=1 ", WAIT);
            try (HttpConnection idle = HttpConnection.open(address)) {
                assertEquals("gen=1 pid=" + pid1 + "\n", ok(idle.get("/")));
                starter.signal("HUP");
                // Generation 1 cannot tell an idle client from one whose request is on its way, so it waits for the
                // client up to the drain timeout and only then closes the connection.
                StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(2L)), WAIT);
                assertTrue(starter.output().contains("JettyServerStarter: 1 connection(s) still open, 0 request(s) "
                        + "running, after 3000 ms; stopping anyway"), starter.output());
                assertThrows(IOException.class, idle::read, "closed at the deadline, with no response");
            }
        }
    }

    @Test
    @Timeout(90)
    void keepAliveAnswerCommittedBeforeTheDrainLeavesItsConnectionOpen() throws Exception {
        Superdaemon superdaemon = Superdaemon.available().findFirst().orElseThrow();
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        Path streamUntil = dir.resolve("stream-until");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(),
                "--status-file=" + status, "--interval=1", "--"));
        args.addAll(ChildJava.command(JettyWorker.class));

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

    @Test
    @Timeout(60)
    void bindsItsOwnPortWithoutASuperdaemon() throws Exception {
        int port = Ports.freeTcpPort();
        ProcessBuilder pb = new ProcessBuilder(ChildJava.command(JettyWorker.class)).redirectErrorStream(true)
                .redirectOutput(dir.resolve("out").toFile());
        pb.environment().remove("SERVER_STARTER_PORT");
        pb.environment().put("PORT", Integer.toString(port));
        Process worker = pb.start();
        try {
            Await.until("jetty on its own port", WAIT, () -> Files.exists(dir.resolve("out"))
                    && read(dir.resolve("out")).contains("jetty ready gen=0 "));
            assertEquals("gen=0 pid=" + worker.pid() + "\n",
                    ok(HttpClient.get(new InetSocketAddress("127.0.0.1", port), "/")));
        } finally {
            worker.destroy();
            worker.waitFor(20, TimeUnit.SECONDS);
            worker.destroyForcibly();
        }
    }

    @Test
    @Timeout(60)
    void brokenContractFailsLoudly() throws Exception {
        List<String> argv = new ArrayList<>(List.of("bash", "-c", "exec 7</etc/hostname; exec \"$@\"", "bash"));
        argv.addAll(ChildJava.command(JettyWorker.class));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.environment().put("SERVER_STARTER_PORT", "127.0.0.1:8080=7");
        Process worker = pb.start();
        try {
            String out = new String(worker.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(worker.waitFor(30, TimeUnit.SECONDS));
            assertEquals(3, worker.exitValue(), out);
            assertTrue(out.contains("worker: SERVER_STARTER_PORT entry \"127.0.0.1:8080=7\": "
                    + "fd 7 is not a socket but /etc/hostname"), out);
        } finally {
            worker.destroyForcibly();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
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

    /**
     * One client thread sending a request every 10 ms until stopped (at most 5000, at most 90 s; paced so that it does
     * not starve the new generation's start-up on a small machine): a keep-alive
     * connection over IPv4 that reconnects when told {@code Connection: close}, alternating with one-shot requests
     * over IPv6. Every exception or non-200 is a failure.
     */
    private static final class Load implements AutoCloseable {
        final List<String> failures = new CopyOnWriteArrayList<>();
        final Map<String, Integer> answersByBody = new ConcurrentHashMap<>();
        private final AtomicBoolean stopped = new AtomicBoolean();
        private final Thread thread;

        Load(InetSocketAddress keepAlive, InetSocketAddress oneShot) {
            thread = new Thread(() -> run(keepAlive, oneShot), "load");
            thread.start();
        }

        long answersFrom(long pid) {
            return answersByBody.entrySet().stream().filter(e -> e.getKey().endsWith(" pid=" + pid + "\n"))
                    .mapToLong(Map.Entry::getValue).sum();
        }

        private void run(InetSocketAddress keepAlive, InetSocketAddress oneShot) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            HttpConnection connection = null;
            try {
                for (int i = 0; i < 5000 && !stopped.get() && System.nanoTime() < deadline; i++) {
                    try {
                        HttpResponse r;
                        if (i % 2 == 0) {
                            if (connection == null) {
                                connection = HttpConnection.open(keepAlive);
                            }
                            r = connection.get("/");
                            if (connection.isClosedByServer()) {
                                connection.close();
                                connection = null;
                            }
                        } else {
                            r = HttpClient.get(oneShot, "/");
                        }
                        if (r.status() != 200) {
                            failures.add("request " + i + ": " + r);
                        }
                        answersByBody.merge(r.body(), 1, Integer::sum);
                    } catch (IOException | RuntimeException e) {
                        failures.add("request " + i + ": " + e);
                        connection = null;
                    }
                    pause();
                }
            } finally {
                if (connection != null) {
                    try {
                        connection.close();
                    } catch (IOException e) {
                        failures.add("close: " + e);
                    }
                }
            }
        }

        private static void pause() {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void stop() throws InterruptedException {
            stopped.set(true);
            thread.join(TimeUnit.SECONDS.toMillis(40));
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }
    }
}

package org.serverstarter.tomcat;

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
import java.util.concurrent.TimeUnit;
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
import org.serverstarter.testkit.RestartLoad;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * A real embedded Tomcat in a child JVM under a real superdaemon: serves TCP v4, TCP v6 and a unix socket, survives a
 * HUP restart under load without losing a request, finishes a slow request that was in flight when its generation got
 * TERM, leaves the unix socket file in place, and keeps an idle keep-alive connection until the drain timeout.
 */
class TomcatServerStarterIT {
    private static final Duration WAIT = Duration.ofSeconds(40);

    @TempDir
    Path dir;

    /** Each JDK once, the superdaemons taking turns, so that both appear when both exist. */
    static Stream<Arguments> jdkUnderSuperdaemon() {
        List<Superdaemon> superdaemons = Superdaemon.available().toList();
        List<Path> jdks = ChildJava.jdks();
        int runs = Math.max(jdks.size(), superdaemons.size());
        List<Arguments> pairs = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            pairs.add(Arguments.of(superdaemons.get(i % superdaemons.size()), jdks.get(i % jdks.size())));
        }
        return pairs.stream();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("jdkUnderSuperdaemon")
    @Timeout(150)
    void servesRestartsAndDrains(Superdaemon superdaemon, Path jdk) throws Exception {
        InetSocketAddress v4 = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        InetSocketAddress v6 = new InetSocketAddress("::1", Ports.freeTcpPort());
        Path unix = dir.resolve("tomcat.sock");
        Path status = dir.resolve("status");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + v4.getPort(), "--port=[::1]:" + v6.getPort(),
                "--path=" + unix, "--status-file=" + status, "--interval=1", "--"));
        args.addAll(ChildJava.command(jdk, TomcatWorker.class));

        try (StarterProcess starter = StarterProcess.start(superdaemon, args, Map.of(), dir)) {
            long pid1 = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            starter.awaitOutput("tomcat ready gen=1 ", WAIT);
            String gen1 = "gen=1 pid=" + pid1 + "\n";
            assertEquals(gen1, ok(HttpClient.get(v4, "/")));
            assertEquals(gen1, ok(HttpClient.get(v6, "/")));
            assertEquals(gen1, ok(HttpClient.get(unix, "/")));

            try (RestartLoad load = new RestartLoad(v4, List.of(0, 20, 400), List.of(300));
                 HttpConnection slow = HttpConnection.open(v6)) {
                Await.until("answers from generation 1 under load", WAIT, () -> load.answersFrom(pid1) >= 20);
                slow.send("/sleep?ms=1500");
                starter.awaitOutput("sleep started gen=1$", WAIT);
                starter.signal("HUP");
                long pid2 = StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(2L)), WAIT).get(2L);
                Await.until("20 answers from generation 2 under load", WAIT, () -> load.answersFrom(pid2) >= 20);
                load.close();
                assertEquals(List.of(), load.failures, "answers " + load.answersByBody + "; output:\n"
                        + starter.output());

                HttpResponse slowAnswer = slow.read();
                assertEquals(gen1, ok(slowAnswer), "the request in flight at TERM was answered by generation 1");
                assertEquals("close", slowAnswer.header("connection"));
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
            assertFalse(starter.output().contains("still open"), starter.output());
        }
    }

    @Test
    @Timeout(90)
    void idleKeepAliveConnectionIsKeptUntilTheDrainTimeout() throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        try (StarterProcess starter = startWorker(address, status, Map.of("DRAIN_TIMEOUT_MS", "3000"))) {
            long pid1 = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            starter.awaitOutput("tomcat ready gen=1 ", WAIT);
            try (HttpConnection idle = HttpConnection.open(address)) {
                assertEquals("gen=1 pid=" + pid1 + "\n", ok(idle.get("/")));
                starter.signal("HUP");
                // Generation 1 cannot tell an idle client from one whose request is on its way, so it waits for the
                // client up to the drain timeout and only then closes the connection.
                StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(2L)), WAIT);
                assertTrue(starter.output().contains("TomcatServerStarter: 1 connection(s) still open, 0 request(s) "
                        + "running, after 3000 ms; stopping anyway"), starter.output());
                assertThrows(IOException.class, idle::read, "closed at the deadline, with no response");
            }
        }
    }

    @Test
    @Timeout(90)
    void keepAliveAnswerCommittedBeforeTheDrainLeavesItsConnectionOpen() throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        Path streamUntil = dir.resolve("stream-until");
        try (StarterProcess starter = startWorker(address, status, Map.of("STREAM_UNTIL", streamUntil.toString()))) {
            long pid1 = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            starter.awaitOutput("tomcat ready gen=1 ", WAIT);
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
        Path out = dir.resolve("out");
        ProcessBuilder pb = new ProcessBuilder(ChildJava.command(TomcatWorker.class)).redirectErrorStream(true)
                .redirectOutput(out.toFile());
        pb.environment().remove("SERVER_STARTER_PORT");
        pb.environment().put("PORT", Integer.toString(port));
        Process worker = pb.start();
        try {
            Await.until("tomcat on its own port", WAIT, () -> read(out).contains("tomcat ready gen=0 "));
            assertEquals("gen=0 pid=" + worker.pid() + "\n",
                    ok(HttpClient.get(new InetSocketAddress("127.0.0.1", port), "/")));
        } finally {
            worker.destroy();
            worker.waitFor(20, TimeUnit.SECONDS);
            worker.destroyForcibly();
        }
    }

    /** An fd that is not a socket: one line naming the entry and what the fd is, and no stack trace. */
    @Test
    @Timeout(60)
    void anFdThatIsNotASocketFailsWithOneLine() throws Exception {
        List<String> argv = new ArrayList<>(List.of("bash", "-c", "exec 7</etc/hostname; exec \"$@\"", "bash"));
        argv.addAll(ChildJava.command(TomcatWorker.class));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.environment().put("SERVER_STARTER_PORT", "127.0.0.1:8080=7");
        Process worker = pb.start();
        try {
            String out = new String(worker.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(worker.waitFor(30, TimeUnit.SECONDS));
            assertEquals(1, worker.exitValue(), out);
            assertEquals("Exception in thread \"main\" org.serverstarter.adapters.StarterException: SERVER_STARTER_PORT "
                    + "entry \"127.0.0.1:8080=7\": fd 7 is not a socket but /etc/hostname\n", out);
        } finally {
            worker.destroyForcibly();
        }
    }

    private StarterProcess startWorker(InetSocketAddress address, Path status, Map<String, String> env) {
        Superdaemon superdaemon = Superdaemon.available().findFirst().orElseThrow();
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(),
                "--status-file=" + status, "--interval=1", "--"));
        args.addAll(ChildJava.command(TomcatWorker.class));
        return StarterProcess.start(superdaemon, args, env, dir);
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
}

package org.serverstarter.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * A worker adopts TCP v4, TCP v6 and unix sockets from a real superdaemon, serves them, and hands them on across a
 * restart: generation 1 accepts through a selector (leaving O_NONBLOCK on the shared sockets), generation 2 accepts
 * blocking, and the unix socket path outlives generation 1.
 */
class InheritedSocketIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    static Stream<Arguments> superdaemonsAndJdks() {
        return Superdaemon.available().flatMap(s -> ChildJava.jdks().stream().map(jdk -> Arguments.of(s, jdk)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("superdaemonsAndJdks")
    @Timeout(120)
    void servesEveryInheritedSocketAcrossARestart(Superdaemon superdaemon, Path jdk) {
        InetSocketAddress v4 = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        InetSocketAddress v6 = new InetSocketAddress("::1", Ports.freeTcpPort());
        Path unix = dir.resolve("app.sock");
        Path status = dir.resolve("status");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + v4.getPort(), "--port=[::1]:" + v6.getPort(),
                "--path=" + unix, "--status-file=" + status, "--interval=1", "--"));
        args.addAll(ChildJava.command(jdk, EchoWorker.class, "alternate"));

        try (StarterProcess starter = StarterProcess.start(superdaemon, args, Map.of(), dir)) {
            long gen1 = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            starter.awaitOutput("worker ready gen=1 .* mode=selector", WAIT);
            assertAnswers(v4, v6, unix, "gen=1 pid=" + gen1);

            starter.signal("HUP");
            SortedMap<Long, Long> after = StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(2L)), WAIT);
            starter.awaitOutput("worker stopping gen=1", WAIT);
            starter.awaitOutput("worker ready gen=2 .* mode=blocking", WAIT);
            assertTrue(Files.exists(unix), "generation 1 must not remove " + unix);
            assertAnswers(v4, v6, unix, "gen=2 pid=" + after.get(2L));
        }
    }

    private static void assertAnswers(InetSocketAddress v4, InetSocketAddress v6, Path unix, String who) {
        assertBody(HttpClient.get(v4, "/"), who + " key=127.0.0.1:" + v4.getPort());
        assertBody(HttpClient.get(v6, "/"), who + " key=[::1]:" + v6.getPort());
        assertBody(HttpClient.get(unix, "/"), who + " key=" + unix);
    }

    private static void assertBody(HttpResponse response, String expected) {
        assertEquals(200, response.status());
        assertEquals(expected + "\n", response.body());
    }
}

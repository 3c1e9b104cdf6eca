package org.serverstarter.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.NotifyAddress;
import org.serverstarter.testkit.NotifyReceiver;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * {@link TomcatWorker} in a child JVM, for what only the Tomcat adapter has (what every adapter must do is in
 * {@link TomcatContractIT}): a drain that reaches its deadline and lets Tomcat's stop close what is left, and
 * {@code READY=1} tied to the start of Tomcat's service, so a Tomcat that fails to start never sends it.
 */
class TomcatServerStarterIT {
    private static final Duration WAIT = Duration.ofSeconds(40);

    @TempDir
    Path dir;

    /**
     * A retired generation cannot tell an idle client from one whose request is on its way, so it keeps the connection
     * until the drain timeout, reports it in one line, and only then does Tomcat's stop close it, unanswered.
     */
    @Test
    @Timeout(90)
    void idleKeepAliveConnectionIsKeptUntilTheDrainTimeout() throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(),
                "--status-file=" + status, "--interval=1", "--"));
        args.addAll(worker());
        try (StarterProcess starter = StarterProcess.start(Superdaemon.available().findFirst().orElseThrow(), args,
                Map.of("DRAIN_TIMEOUT_MS", "3000"), dir)) {
            long pid1 = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            starter.awaitOutput("tomcat ready gen=1 ", WAIT);
            try (HttpConnection idle = HttpConnection.open(address)) {
                HttpResponse first = idle.get("/");
                assertEquals("gen=1 pid=" + pid1 + "\n", first.body(), first.toString());
                starter.signal("HUP");
                StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(2L)), WAIT);
                assertTrue(starter.output().contains("TomcatServerStarter: 1 connection(s) still open, 0 request(s) "
                        + "running, after 3000 ms; stopping anyway"), starter.output());
                assertThrows(IOException.class, idle::read, "closed at the deadline, with no response");
            }
        }
    }

    /**
     * Under Perl's start_server, which passes {@code NOTIFY_SOCKET} through: a worker that adopted its socket but whose
     * Tomcat then fails to start sends nothing, generation after generation.
     */
    @Test
    @Timeout(90)
    void noReadyWhenTomcatFailsToStart() throws Exception {
        assumeTrue(Superdaemon.PERL.isAvailable(), "Perl's start_server is installed");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + Ports.freeTcpPort(), "--interval=1", "--"));
        args.addAll(worker());
        try (NotifyReceiver receiver = NotifyReceiver.bind(NotifyAddress.PATH.in(dir));
             StarterProcess starter = StarterProcess.start(Superdaemon.PERL, args,
                     Map.of("NOTIFY_SOCKET", receiver.address(), "FAIL_START", "1"), dir)) {
            Await.until("two generations to fail", WAIT,
                    () -> starter.output().split("worker: Failed to start component", -1).length > 2);
            starter.signal("TERM");
            starter.awaitExit(WAIT);
            receiver.flush(WAIT);
            assertEquals(List.of(), receiver.received().stream().filter(n -> !n.has("MARKER=1")).toList(),
                    starter.output());
        }
    }

    private static List<String> worker() {
        List<String> argv = new ArrayList<>(ChildJava.command(TomcatWorker.class));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        return argv;
    }
}

package org.serverstarter.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.serverstarter.adapters.NotifyReceiver;
import org.serverstarter.adapters.ReadinessContract;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/**
 * The readiness contract for a Tomcat worker, and Tomcat's own cases: a worker whose {@code listen} fails, one whose
 * Tomcat fails to start, and an app that defers READY=1 under our start_server's {@code --readiness=notify}.
 */
class TomcatReadinessIT extends ReadinessContract {
    static Stream<Case> cases() {
        return Case.eachJdkAndAddressOnce(NotifyAddress.PATH, TomcatReadinessIT::worker);
    }

    /** A worker whose {@code listen} fails (fd 7 is a file, not a socket) sends nothing. */
    @Test
    @Timeout(60)
    void noReadyWhenListenFails() throws Exception {
        assertSilentWhenFd7IsNotASocket(worker(ChildJava.jdks().get(0)));
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
        args.addAll(worker(ChildJava.jdks().get(0)));
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

    /**
     * End to end with our start_server's {@code --readiness=notify}: an app that defers READY=1 until it has warmed up
     * is serving but not yet counted as started, so the superdaemon keeps the old generation until the app says so.
     */
    @Test
    @Timeout(120)
    void ourStartServerWaitsForTheAppsOwnReady() throws Exception {
        assumeTrue(Superdaemon.JAVA.isAvailable(), "our start_server is built");
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path warm1 = dir.resolve("warm1");
        Path warm2 = dir.resolve("warm2");
        Path script = dir.resolve("worker.sh");
        // Each generation waits for its own file: warm1, warm2.
        Files.writeString(script, "export WARM_UP_UNTIL=" + dir + "/warm$SERVER_STARTER_GENERATION; exec \"$@\"\n");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(), "--readiness=notify",
                "--", "sh", script.toString()));
        args.addAll(worker(ChildJava.jdks().get(0)));
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args, Map.of(), dir)) {
            starter.awaitOutput("tomcat ready gen=1 ", WAIT);
            assertTrue(HttpClient.get(address, "/").body().startsWith("gen=1 "), "serving while warming up");
            assertFalse(starter.output().contains(" is ready"), starter.output());
            Files.createFile(warm1);
            starter.awaitOutput("new worker [0-9]+ is ready", WAIT);
            assertTrue(starter.output().indexOf("warmed up gen=1") < starter.output().indexOf(" is ready"),
                    starter.output());

            starter.signal("HUP");
            starter.awaitOutput("tomcat ready gen=2 ", WAIT);
            assertFalse(starter.output().contains("killing old workers"), starter.output());
            Files.createFile(warm2);
            starter.awaitOutput("killing old workers", WAIT);
            String out = starter.output();
            assertTrue(out.indexOf("warmed up gen=2") < out.indexOf("killing old workers"), out);
            Await.until("generation 2 alone answers", WAIT,
                    () -> HttpClient.get(address, "/").body().startsWith("gen=2 "));
        }
    }

    private static List<String> worker(Path jdk) {
        List<String> argv = new ArrayList<>(ChildJava.command(jdk, TomcatWorker.class));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        return argv;
    }
}

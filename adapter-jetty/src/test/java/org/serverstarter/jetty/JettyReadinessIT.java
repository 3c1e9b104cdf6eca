package org.serverstarter.jetty;

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
import java.util.concurrent.TimeUnit;
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
 * The readiness contract for a Jetty worker, and Jetty's own cases: an app that defers READY=1 under our
 * start_server's {@code --readiness=notify}, and an app that fails to start under systemd's {@code Type=notify}.
 */
class JettyReadinessIT extends ReadinessContract {
    static Stream<Case> cases() {
        return Case.eachJdkAndAddressOnce(NotifyAddress.PATH, JettyReadinessIT::worker);
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
            starter.awaitOutput("jetty ready gen=1 ", WAIT);
            assertTrue(HttpClient.get(address, "/").body().startsWith("gen=1 "), "serving while warming up");
            assertFalse(starter.output().contains(" is ready"), starter.output());
            Files.createFile(warm1);
            starter.awaitOutput("new worker [0-9]+ is ready", WAIT);
            assertTrue(starter.output().indexOf("warmed up gen=1") < starter.output().indexOf(" is ready"),
                    starter.output());

            starter.signal("HUP");
            starter.awaitOutput("jetty ready gen=2 ", WAIT);
            assertFalse(starter.output().contains("killing old workers"), starter.output());
            Files.createFile(warm2);
            starter.awaitOutput("killing old workers", WAIT);
            String out = starter.output();
            assertTrue(out.indexOf("warmed up gen=2") < out.indexOf("killing old workers"), out);
            Await.until("generation 2 alone answers", WAIT,
                    () -> HttpClient.get(address, "/").body().startsWith("gen=2 "));
        }
    }

    /**
     * Without a superdaemon but with {@code NOTIFY_SOCKET} (systemd's {@code Type=notify}): an app that fails to start
     * never reports ready, and the same app that starts does. The second worker starts after the first exited, so its
     * READY=1 arriving proves that any datagram from the first has arrived too.
     */
    @Test
    @Timeout(90)
    void noReadyWhenTheServerFailsToStart() throws Exception {
        try (NotifyReceiver receiver = NotifyReceiver.bind(dir.resolve("notify").toString())) {
            Process failing = startWithoutSuperdaemon(receiver, Map.of("FAIL_START", "1"), "failing.log");
            try {
                assertTrue(failing.waitFor(40, TimeUnit.SECONDS));
                assertEquals(4, failing.exitValue(), Files.readString(dir.resolve("failing.log")));
            } finally {
                failing.destroyForcibly();
            }
            Process starting = startWithoutSuperdaemon(receiver, Map.of(), "starting.log");
            try {
                receiver.await("READY=1", starting.pid(), WAIT);
            } finally {
                starting.destroy();
                starting.waitFor(20, TimeUnit.SECONDS);
                starting.destroyForcibly();
            }
            assertTrue(receiver.received().stream().noneMatch(n -> n.pid() == failing.pid() && n.has("READY=1")),
                    receiver.received().toString());
        }
    }

    private Process startWithoutSuperdaemon(NotifyReceiver receiver, Map<String, String> env, String log)
            throws Exception {
        ProcessBuilder pb = new ProcessBuilder(worker(ChildJava.jdks().get(0))).redirectErrorStream(true)
                .redirectOutput(dir.resolve(log).toFile());
        pb.environment().remove("SERVER_STARTER_PORT");
        pb.environment().put("PORT", Integer.toString(Ports.freeTcpPort()));
        pb.environment().put("NOTIFY_SOCKET", receiver.address());
        pb.environment().putAll(env);
        return pb.start();
    }

    private static List<String> worker(Path jdk) {
        List<String> argv = new ArrayList<>(ChildJava.command(jdk, JettyWorker.class));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        return argv;
    }
}

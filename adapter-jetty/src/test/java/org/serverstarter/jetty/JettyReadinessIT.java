package org.serverstarter.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.adapters.NotifyReceiver;
import org.serverstarter.adapters.NotifyReceiver.Notification;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/**
 * {@code READY=1} and {@code STOPPING=1} from a Jetty worker under Perl's start_server, which passes
 * {@code NOTIFY_SOCKET} through to its workers untouched. A python3 receiver reports the pid the kernel attaches to
 * each datagram, so every notification is checked to come from the worker JVM itself.
 */
class JettyReadinessIT {
    private static final Duration WAIT = Duration.ofSeconds(40);

    @TempDir
    Path dir;

    /** Each JDK once, each address form once. */
    static Stream<Arguments> jdksAndAddresses() {
        List<Path> jdks = ChildJava.jdks();
        return Stream.of(Arguments.of(jdks.get(0), "path"), Arguments.of(jdks.get(jdks.size() - 1), "abstract"));
    }

    @ParameterizedTest(name = "{0}, {1} socket")
    @MethodSource("jdksAndAddresses")
    @Timeout(120)
    void readyWhenServingStoppingOnTerm(Path jdk, String kind) throws Exception {
        assumeTrue(Superdaemon.PERL.isAvailable(), "Perl's start_server is installed");
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(), "--interval=1", "--"));
        args.addAll(worker(jdk));
        try (NotifyReceiver receiver = NotifyReceiver.bind(notifyAddress(kind));
             StarterProcess starter = StarterProcess.start(Superdaemon.PERL, args,
                     Map.of("NOTIFY_SOCKET", receiver.address()), dir)) {
            long pid1 = receiver.await("READY=1 from generation 1", n -> n.has("READY=1"), WAIT).pid();
            assertEquals(starter.pid(), parentOf(pid1), "READY=1 comes from the worker start_server spawned");
            assertEquals("gen=1 pid=" + pid1 + "\n", ok(HttpClient.get(address, "/")), "serving when READY=1 arrives");

            starter.signal("HUP");
            long pid2 = receiver.await("READY=1 from generation 2", n -> n.has("READY=1") && n.pid() != pid1, WAIT)
                    .pid();
            assertEquals(starter.pid(), parentOf(pid2));
            receiver.await("STOPPING=1", pid1, WAIT);
            // Perl's start_server does not wait for READY=1: both generations share the socket for --interval.
            Await.until("generation 2 answers", WAIT,
                    () -> ok(HttpClient.get(address, "/")).equals("gen=2 pid=" + pid2 + "\n"));

            starter.signal("TERM");
            receiver.await("STOPPING=1", pid2, WAIT);
            assertEquals(0, starter.awaitExit(WAIT), starter.output());

            assertEquals(List.of(new Notification(pid1, "READY=1"), new Notification(pid1, "STOPPING=1")),
                    from(receiver, pid1));
            assertEquals(List.of(new Notification(pid2, "READY=1"), new Notification(pid2, "STOPPING=1")),
                    from(receiver, pid2));
            assertEquals(Set.of(pid1, pid2), receiver.received().stream().map(Notification::pid)
                    .collect(Collectors.toSet()), "nobody else sent anything");
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

    private String notifyAddress(String kind) {
        return kind.equals("path") ? dir.resolve("notify").toString() : "@serverstarter-jetty-" + UUID.randomUUID();
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

package org.serverstarter.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
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
import org.serverstarter.netty.NettyListener.Transport;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/**
 * {@code READY=1} and {@code STOPPING=1} from a Netty worker under Perl's start_server, which passes
 * {@code NOTIFY_SOCKET} through to its workers untouched. A python3 receiver reports the pid the kernel attaches to
 * each datagram, so every notification is checked to come from the worker JVM itself.
 */
class NettyReadinessIT {
    private static final Duration WAIT = Duration.ofSeconds(40);

    @TempDir
    Path dir;

    /** Each JDK once, each address form once, each transport once (NIO only where it is the fallback). */
    static Stream<Arguments> cases() {
        List<Path> jdks = ChildJava.jdks();
        return Stream.of(Arguments.of(jdks.get(0), "path", NettyListener.transport()),
                Arguments.of(jdks.get(jdks.size() - 1), "abstract", Transport.NIO));
    }

    @ParameterizedTest(name = "{0}, {1} socket, {2}")
    @MethodSource("cases")
    @Timeout(120)
    void readyWhenServingStoppingOnTerm(Path jdk, String kind, Transport transport) throws Exception {
        assumeTrue(Superdaemon.PERL.isAvailable(), "Perl's start_server is installed");
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(), "--interval=1", "--"));
        args.addAll(worker(jdk, transport));
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

    /** A worker whose {@code register} fails (fd 7 is a file, not a socket) sends nothing. */
    @Test
    @Timeout(60)
    void noReadyWhenRegisterFails() throws Exception {
        try (NotifyReceiver receiver = NotifyReceiver.bind(dir.resolve("notify").toString())) {
            List<String> argv = new ArrayList<>(List.of("bash", "-c", "exec 7</etc/hostname; exec \"$@\"", "bash"));
            argv.addAll(worker(ChildJava.jdks().get(0), NettyListener.transport()));
            ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
            pb.environment().put("SERVER_STARTER_PORT", "127.0.0.1:8080=7");
            pb.environment().put("NOTIFY_SOCKET", receiver.address());
            Process worker = pb.start();
            try {
                String out = new String(worker.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(worker.waitFor(30, TimeUnit.SECONDS));
                assertNotEquals(0, worker.exitValue(), out);
                assertTrue(out.contains("fd 7 is not a socket"), out);
            } finally {
                worker.destroyForcibly();
            }
            receiver.flush(WAIT);
            assertEquals(List.of(), from(receiver, worker.pid()));
        }
    }

    private static List<String> worker(Path jdk, Transport transport) {
        List<String> argv = new ArrayList<>(ChildJava.command(jdk, HelloServer.class, transport.name()));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        return argv;
    }

    private String notifyAddress(String kind) {
        return kind.equals("path") ? dir.resolve("notify").toString() : "@serverstarter-netty-" + UUID.randomUUID();
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

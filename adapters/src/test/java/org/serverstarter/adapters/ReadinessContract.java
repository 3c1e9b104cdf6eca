package org.serverstarter.adapters;

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
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.adapters.NotifyReceiver.Notification;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/**
 * What every framework adapter's worker must do about readiness under Perl's start_server, which passes
 * {@code NOTIFY_SOCKET} through to its workers untouched: {@code READY=1} once it serves, {@code STOPPING=1} when HUP
 * or TERM retires it, and nothing else. A python3 receiver reports the pid the kernel attaches to each datagram, so
 * every notification is checked to come from the worker JVM itself.
 *
 * <p>A module's test subclasses this and declares {@code static Stream<Case> cases()}, the runs of
 * {@link #readyWhenServingStoppingOnTerm}; it overrides {@link #body} if its worker answers {@code GET /} otherwise.
 * Its own cases stay in it.
 */
public abstract class ReadinessContract {
    protected static final Duration WAIT = Duration.ofSeconds(40);

    @TempDir
    protected Path dir;

    /** The form of {@code NOTIFY_SOCKET}'s address. */
    public enum NotifyAddress {
        PATH, ABSTRACT;

        /** A fresh address of this form; a path one lies in {@code dir}. */
        public String in(Path dir) {
            return this == PATH ? dir.resolve("notify").toString() : "@serverstarter-" + UUID.randomUUID();
        }

        @Override
        public String toString() {
            return name().toLowerCase();
        }
    }

    /** One run: the worker's command line and the address form it is told; {@code name} is what reports show. */
    public record Case(String name, NotifyAddress address, List<String> command) {
        /** A run named after the JDK the worker runs on and the address form. */
        public static Case of(Path jdk, NotifyAddress address, List<String> worker) {
            return new Case(jdk + ", " + address + " socket", address, worker);
        }

        /**
         * Each JDK once, each address form once: the first JDK with {@code onFirstJdk}, the last (Temurin 25 when
         * installed) with the other form.
         */
        public static Stream<Case> eachJdkAndAddressOnce(NotifyAddress onFirstJdk,
                Function<Path, List<String>> worker) {
            List<Path> jdks = ChildJava.jdks();
            Path first = jdks.get(0);
            Path last = jdks.get(jdks.size() - 1);
            NotifyAddress other = onFirstJdk == NotifyAddress.PATH ? NotifyAddress.ABSTRACT : NotifyAddress.PATH;
            return Stream.of(of(first, onFirstJdk, worker.apply(first)), of(last, other, worker.apply(last)));
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /**
     * The body the worker with pid {@code pid} of generation {@code generation} answers {@code GET /} with; by
     * default {@code gen=1 pid=123} and a newline.
     */
    protected String body(int generation, long pid) {
        return "gen=" + generation + " pid=" + pid + "\n";
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    @Timeout(120)
    void readyWhenServingStoppingOnTerm(Case run) throws Exception {
        assumeTrue(Superdaemon.PERL.isAvailable(), "Perl's start_server is installed");
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(), "--interval=1", "--"));
        args.addAll(run.command());
        try (NotifyReceiver receiver = NotifyReceiver.bind(run.address().in(dir));
             StarterProcess starter = StarterProcess.start(Superdaemon.PERL, args,
                     Map.of("NOTIFY_SOCKET", receiver.address()), dir)) {
            long pid1 = receiver.await("READY=1 from generation 1", n -> n.has("READY=1"), WAIT).pid();
            assertEquals(starter.pid(), parentOf(pid1), "READY=1 comes from the worker start_server spawned");
            assertEquals(body(1, pid1), ok(HttpClient.get(address, "/")), "serving when READY=1 arrives");

            starter.signal("HUP");
            long pid2 = receiver.await("READY=1 from generation 2", n -> n.has("READY=1") && n.pid() != pid1, WAIT)
                    .pid();
            assertEquals(starter.pid(), parentOf(pid2));
            receiver.await("STOPPING=1", pid1, WAIT);
            // Perl's start_server does not wait for READY=1: both generations share the socket for --interval.
            Await.until("generation 2 answers", WAIT, () -> ok(HttpClient.get(address, "/")).equals(body(2, pid2)));

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
     * For a module's own case: {@code worker}, started with fd 7 a file rather than the socket
     * {@code SERVER_STARTER_PORT} names, exits non-zero saying so and sends nothing.
     */
    protected void assertSilentWhenFd7IsNotASocket(List<String> worker) throws Exception {
        try (NotifyReceiver receiver = NotifyReceiver.bind(NotifyAddress.PATH.in(dir))) {
            List<String> argv = new ArrayList<>(List.of("bash", "-c", "exec 7</etc/hostname; exec \"$@\"", "bash"));
            argv.addAll(worker);
            ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
            pb.environment().put("SERVER_STARTER_PORT", "127.0.0.1:8080=7");
            pb.environment().put("NOTIFY_SOCKET", receiver.address());
            Process process = pb.start();
            try {
                String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(process.waitFor(30, TimeUnit.SECONDS));
                assertNotEquals(0, process.exitValue(), out);
                assertTrue(out.contains("fd 7 is not a socket"), out);
            } finally {
                process.destroyForcibly();
            }
            receiver.flush(WAIT);
            assertEquals(List.of(), from(receiver, process.pid()));
        }
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

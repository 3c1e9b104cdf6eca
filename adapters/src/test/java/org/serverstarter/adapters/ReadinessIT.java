package org.serverstarter.adapters;

import org.serverstarter.adapters.internal.Contract;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.NotifyAddress;
import org.serverstarter.testkit.NotifyReceiver;
import org.serverstarter.testkit.NotifyReceiver.Notification;
import org.serverstarter.testkit.ChildJava;

/**
 * The public API in a worker JVM of its own, on each JDK: what reaches a real receiver, from which pid, and what the
 * worker prints. On JDK 25 the native-access flag must silence the JDK's warning about jnr-ffi, and without
 * {@code NOTIFY_SOCKET} nothing native is loaded, so not even the warning appears.
 */
class ReadinessIT {
    @TempDir
    Path dir;

    /** One run: the worker's command line and the address form it is told. */
    record Case(Path jdk, NotifyAddress address, List<String> command) {
        @Override
        public String toString() {
            return jdk + ", " + address + " socket";
        }
    }

    /** Each JDK once, each address form once: a path on the first JDK, an abstract name on the last. */
    static Stream<Case> workers() {
        List<Path> jdks = ChildJava.jdks();
        return Stream.of(worker(jdks.get(0), NotifyAddress.PATH),
                worker(jdks.get(jdks.size() - 1), NotifyAddress.ABSTRACT));
    }

    private static Case worker(Path jdk, NotifyAddress address) {
        List<String> argv = new ArrayList<>(ChildJava.command(jdk, ReadinessWorker.class));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        return new Case(jdk, address, argv);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    @Timeout(60)
    void workerReportsFromItsOwnPid(Case worker) throws Exception {
        String address = worker.address().in(dir);
        try (NotifyReceiver receiver = NotifyReceiver.bind(address)) {
            Result run = run(worker.command(), address);
            assertEquals("serving=false status=true ready=true stopping=true\n", run.stdout, run.stderr);
            assertEquals("", run.stderr, "no warning, no error");
            receiver.await("STOPPING=1", run.pid, Duration.ofSeconds(20));
            assertEquals(List.of(new Notification(run.pid, "STATUS=warming up"), new Notification(run.pid, "READY=1"),
                    new Notification(run.pid, "STOPPING=1")), receiver.received());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.serverstarter.testkit.ChildJava#jdks")
    @Timeout(60)
    void withoutNotifySocketNothingHappens(Path jdk) throws Exception {
        Result run = run(ChildJava.command(jdk, ReadinessWorker.class), null);
        assertEquals("serving=false status=false ready=false stopping=false\n", run.stdout, run.stderr);
        assertEquals("", run.stderr, "no native library loaded, so no warning even on JDK 24+");
    }

    private record Result(long pid, String stdout, String stderr) {}

    private Result run(List<String> argv, String notifySocket) throws Exception {
        Path out = dir.resolve("out");
        Path err = dir.resolve("err");
        ProcessBuilder pb = new ProcessBuilder(argv).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove(Contract.NOTIFY_SOCKET_VARIABLE);
        if (notifySocket != null) {
            pb.environment().put(Contract.NOTIFY_SOCKET_VARIABLE, notifySocket);
        }
        Process worker = pb.start();
        try {
            assertTrue(worker.waitFor(40, TimeUnit.SECONDS), "worker finished");
            return new Result(worker.pid(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            worker.destroyForcibly();
        }
    }
}

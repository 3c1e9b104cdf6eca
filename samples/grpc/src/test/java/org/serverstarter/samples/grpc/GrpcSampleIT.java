package org.serverstarter.samples.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.LifelineLauncher;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Repo;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * The gRPC sample, started through {@code samples/grpc/run}, hot-restarted while {@link GrpcLoadClient} calls it over
 * a few connections (unary and server-streaming calls, back to back): no call may fail and no stream be cut short, the
 * clients must reach every generation, and a streaming call open across each restart (a {@code Ticks} watch, which
 * ends when its generation drains) must run to its normal end on the generation that took it.
 */
class GrpcSampleIT {
    private static final Duration START_DEADLINE = Duration.ofSeconds(60);
    private static final Duration WATCH_DEADLINE = Duration.ofSeconds(90);
    private static final int CONNECTIONS = 4;
    private static final Path RUN = Repo.root().resolve("samples/grpc/run");

    @TempDir
    Path dir;

    /** Our start_server, which retires the old generation once the new one has sent {@code READY=1}. */
    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void readinessGatedRestartsFailNoCall() throws Exception {
        assumeTrue(Superdaemon.JAVA.isAvailable(), "superdaemon/target/start_server.jar is not built");
        restartUnderLoad(Superdaemon.JAVA, List.of("--readiness=notify", "--ready-timeout=60"), 3);
    }

    /**
     * Perl's start_server retires the old generation {@code --interval} seconds after it started the new one, ready
     * or not: the clients that reconnect meanwhile wait in the listen backlog, and no call fails either.
     */
    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void restartsUnderPerlsStartServerFailNoCall() throws Exception {
        assumeTrue(Superdaemon.PERL.isAvailable(), "Perl's start_server is not installed");
        restartUnderLoad(Superdaemon.PERL, List.of("--interval=1"), 2);
    }

    /**
     * Once the lifeline closes, as when start_server dies, the sample drains as on TERM: the watch open on it ends
     * normally, and the JVM exits with 143.
     */
    @Test
    @Timeout(90)
    void aClosedLifelineDrainsAndExitsAsOnTerm() throws Exception {
        try (LifelineLauncher launcher = LifelineLauncher.start(LifelineLauncher.Variable.PIPE,
                List.of(RUN.toString()), dir)) {
            String target = "127.0.0.1:" + launcher.address().getPort();
            launcher.awaitOutput("^grpc-sample: generation \\d+ pid " + launcher.worker().pid() + " serving ",
                    START_DEADLINE);
            ManagedChannel channel = GrpcLoadClient.channel(target);
            try {
                Iterator<String> watch = ClientCalls.blockingServerStreamingCall(channel, SampleService.TICKS,
                        CallOptions.DEFAULT.withDeadlineAfter(WATCH_DEADLINE.toMillis(), TimeUnit.MILLISECONDS),
                        "0 50");
                List<String> replies = new ArrayList<>(List.of(watch.next()));
                launcher.cut();
                watch.forEachRemaining(replies::add);
                assertTrue(replies.get(replies.size() - 1).endsWith(" end: draining"), replies.toString());
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            assertEquals(143, launcher.awaitExit(START_DEADLINE), launcher.stdout() + launcher.stderr());
            assertEquals(List.of("start_server is gone (lifeline fd " + launcher.pipeFd()
                    + " closed): draining and exiting"), launcher.lifelineLines());
        }
    }

    /** An fd that is not a socket ({@code /etc/hostname} as fd 7): exit 1 and one line on stderr, no stack trace. */
    @Test
    @Timeout(60)
    void anFdThatIsNotASocketFailsInOneLine() throws Exception {
        Path err = dir.resolve("err");
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "exec 7</etc/hostname; exec \"$@\"", "bash",
                RUN.toString()).redirectOutput(dir.resolve("out").toFile()).redirectError(err.toFile());
        pb.environment().put("SERVER_STARTER_PORT", "127.0.0.1:8080=7");
        Process worker = pb.start();
        try {
            assertTrue(worker.waitFor(START_DEADLINE.toSeconds(), TimeUnit.SECONDS), "the worker kept running");
            String stderr = Files.readString(err);
            assertEquals(1, worker.exitValue(), stderr);
            assertEquals(1, stderr.lines().count(), "one line, no stack trace:\n" + stderr);
            assertTrue(stderr.startsWith("grpc-sample: cannot start: SERVER_STARTER_PORT entry \"127.0.0.1:8080=7\": "
                    + "fd 7 is not a socket"), stderr);
        } finally {
            worker.destroyForcibly();
        }
    }

    private void restartUnderLoad(Superdaemon superdaemon, List<String> options, int restarts) throws Exception {
        int port = Ports.freeTcpPort();
        String target = "127.0.0.1:" + port;
        Path status = dir.resolve("start_server.status");
        List<String> args = new ArrayList<>(List.of("--port=" + target, "--status-file=" + status));
        args.addAll(options);
        args.addAll(List.of("--", RUN.toString()));
        try (StarterProcess starter = StarterProcess.start(superdaemon, args, Map.of(), dir)) {
            awaitGenerations(starter, status, gens -> gens.size() == 1);
            // Bounded by time first, and by a count no run here reaches.
            try (GrpcLoadClient load = GrpcLoadClient.start(target, CONNECTIONS, 5_000_000, Duration.ofSeconds(150))) {
                Await.until("the clients to get answers", START_DEADLINE, () -> load.unaryOk() > 0);
                for (int i = 1; i <= restarts; i++) {
                    long before = awaitGenerations(starter, status, gens -> gens.size() == 1).lastKey();
                    List<String> watch = watchAcross(target, before, starter);
                    assertTrue(watch.get(watch.size() - 1).equals("gen=" + before + " end: draining"),
                            "the watch open across HUP " + i + " ended when its generation drained: " + watch);
                    long newest = awaitGenerations(starter, status,
                            gens -> gens.size() == 1 && gens.firstKey() > before).firstKey();
                    Await.until("the clients to reach generation " + newest, START_DEADLINE,
                            () -> load.generations().contains(newest));
                }
                load.stop();
                assertEquals(List.of(), load.failures(), "failed calls (log:\n" + starter.output() + ")");
                Set<Long> seen = load.generations();
                assertEquals(restarts + 1, seen.size(), "generations seen by the clients: " + seen);
                assertTrue(load.streamsOk() > 0 && load.unaryOk() > 0, load.summary());
                System.out.println(superdaemon + ": " + load.summary());
            }
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Duration.ofSeconds(60)), starter.output());
        }
    }

    /**
     * Opens a {@code Ticks} watch on a connection of its own, checks that generation {@code before} took it, sends
     * {@code HUP}, and returns the watch's replies once it ended: every one from {@code before}.
     */
    private static List<String> watchAcross(String target, long before, StarterProcess starter) throws Exception {
        ManagedChannel channel = GrpcLoadClient.channel(target);
        try {
            Iterator<String> watch = ClientCalls.blockingServerStreamingCall(channel, SampleService.TICKS,
                    CallOptions.DEFAULT.withDeadlineAfter(WATCH_DEADLINE.toMillis(), TimeUnit.MILLISECONDS), "0 50");
            List<String> replies = new ArrayList<>();
            replies.add(watch.next());
            assertEquals(before, GrpcLoadClient.generationOf(replies.get(0)), "the watch's generation");
            starter.signal("HUP");
            try {
                watch.forEachRemaining(replies::add);
            } catch (StatusRuntimeException e) {
                throw new AssertionError("the watch open across the HUP failed after " + replies + ": "
                        + e.getStatus() + "\nstart_server output:\n" + starter.output(), e);
            }
            for (String reply : replies) {
                assertEquals(before, GrpcLoadClient.generationOf(reply), "a reply of the watch: " + replies);
            }
            return replies;
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static SortedMap<Long, Long> awaitGenerations(StarterProcess starter, Path status,
            Predicate<SortedMap<Long, Long>> condition) {
        try {
            return StatusFile.awaitGenerations(status, condition, START_DEADLINE);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\nstart_server output:\n" + starter.output(), e);
        }
    }
}

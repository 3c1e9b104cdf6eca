package org.serverstarter.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The restarts-under-load scenario of the adapters' contract: a worker under a superdaemon serves a
 * {@link RestartLoad} while it is hot restarted (HUP) {@value #RESTARTS} times, each time after the current generation
 * has answered. It asserts that no request was lost and that the load reached every retired generation while it
 * drained (a {@code Connection: close} answer from it), so a drain that the load never saw cannot pass for a clean
 * one.
 */
public final class RestartsUnderLoad {
    /** Hot restarts per run. */
    public static final int RESTARTS = 3;
    private static final Duration WAIT = Duration.ofSeconds(40);
    private static final int ANSWERS_PER_GENERATION = 20;

    private RestartsUnderLoad() {}

    /**
     * Restarts {@code starter}, whose current generation {@code firstPid} serves {@code address} and whose
     * {@code --status-file} is {@code statusFile}, under load, and makes the shared assertions.
     *
     * @return the pids of every generation that served, oldest first: {@code firstPid}, then one per restart
     */
    public static List<Long> run(StarterProcess starter, InetSocketAddress address, Path statusFile, long firstPid)
            throws InterruptedException {
        long generation = StatusFile.read(statusFile).entrySet().stream().filter(e -> e.getValue() == firstPid)
                .mapToLong(Map.Entry::getKey).findFirst()
                .orElseThrow(() -> new AssertionError("pid " + firstPid + " is not in " + statusFile));
        long pid = firstPid;
        List<Long> pids = new ArrayList<>(List.of(pid));
        // Keep-alive clients back to back, idle in between for a while, and new connections that send at once or
        // only a while after the connect.
        try (RestartLoad load = new RestartLoad(address, List.of(0, 0, 20, 400, 1200, 2500), List.of(0, 300, 1500))) {
            for (int restart = 1; restart <= RESTARTS; restart++) {
                long previous = pid;
                Await.until("answers from pid " + previous + " before the restart", WAIT,
                        () -> load.answersFrom(previous) >= ANSWERS_PER_GENERATION);
                starter.signal("HUP");
                long next = generation + restart;
                pid = StatusFile.awaitGenerations(statusFile, g -> g.keySet().equals(Set.of(next)), WAIT).get(next);
                pids.add(pid);
            }
            long last = pid;
            Await.until("answers from the last generation", WAIT,
                    () -> load.answersFrom(last) >= ANSWERS_PER_GENERATION);
            load.close();
            String summary = "answers " + load.answersByBody + ", Connection: close answers " + load.closesByBody;
            assertEquals(List.of(), load.failures, summary + "; output:\n" + starter.output());
            for (long retired : pids.subList(0, RESTARTS)) {
                assertTrue(load.closesFrom(retired) > 0, "the load reached generation pid " + retired
                        + " while it drained; " + summary);
            }
            return List.copyOf(pids);
        }
    }
}

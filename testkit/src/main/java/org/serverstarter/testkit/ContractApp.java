package org.serverstarter.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * What the workers of {@link AdapterContract} share, whatever their framework: the answer they give, the settings they
 * read from the environment, and the request they hold until the JVM shuts down.
 */
public final class ContractApp {
    /** The request that {@link #holdStarted()} and {@link #awaitShutdown()} answer. */
    public static final String HOLD = "/hold";

    // Read as any program reads it, not through the adapters: testkit must not depend on the code it tests.
    private static final String IDENTITY = "gen=" + generation() + " pid=" + ProcessHandle.current().pid();
    private static final CountDownLatch SHUTTING_DOWN = new CountDownLatch(1);

    static {
        // Hooks run concurrently, so this one releases held requests while the adapter's own hook drains.
        Runtime.getRuntime().addShutdownHook(new Thread(SHUTTING_DOWN::countDown, "contract-app-shutdown"));
    }

    private ContractApp() {}

    private static long generation() {
        String generation = System.getenv("SERVER_STARTER_GENERATION");
        return generation == null ? 0 : Long.parseLong(generation);
    }

    /** {@code gen=G pid=P}: the generation, 0 without a superdaemon, and this process. */
    public static String identity() {
        return IDENTITY;
    }

    /** The body of every answer: {@link #identity()} and a newline. */
    public static String body() {
        return IDENTITY + "\n";
    }

    /** {@code DRAIN_TIMEOUT_MS}, 10 s when unset. */
    public static Duration drainTimeout() {
        String millis = System.getenv("DRAIN_TIMEOUT_MS");
        return Duration.ofMillis(millis == null ? 10_000 : Long.parseLong(millis));
    }

    /** {@code PORT}, which the app binds on 127.0.0.1 itself when not under a superdaemon. */
    public static int ownPort() {
        return Integer.parseInt(System.getenv("PORT"));
    }

    /**
     * Whether {@code READY_FILE} is set: then the worker calls {@code Readiness.deferReady()} before its server starts
     * and, once it started, {@link #awaitReadyFile()} then {@code Readiness.notifyReady()}.
     */
    public static boolean defersReady() {
        return System.getenv("READY_FILE") != null;
    }

    /**
     * Prints {@code started gen=G pid=P}, then waits until the file {@code READY_FILE.G} exists, at most 60 s, so that
     * a test decides when each generation says it is ready.
     */
    public static void awaitReadyFile() {
        Path file = Path.of(System.getenv("READY_FILE") + "." + generation());
        System.out.println("started " + IDENTITY);
        System.out.flush();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try {
            while (!Files.exists(file) && System.nanoTime() < deadline) {
                // A worker has no event to wait on for a file another process makes; a short poll, bounded.
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Prints {@code hold gen=G pid=P}: the held request has reached the app. */
    public static void holdStarted() {
        System.out.println("hold " + IDENTITY);
        System.out.flush();
    }

    /** Whether the JVM is shutting down (TERM, INT, or a closed lifeline). */
    public static boolean isShuttingDown() {
        return SHUTTING_DOWN.getCount() == 0;
    }

    /**
     * Blocks until the JVM is shutting down, at most 20 s; false when it did not, so that a test whose TERM never came
     * fails on a 503 instead of waiting for its read timeout.
     */
    public static boolean awaitShutdown() {
        try {
            return SHUTTING_DOWN.await(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}

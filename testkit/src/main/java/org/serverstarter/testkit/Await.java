package org.serverstarter.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polls for an event with a deadline, so tests never rely on a bare sleep. */
public final class Await {
    private static final long POLL_MILLIS = 25;

    private Await() {}

    /** Returns as soon as {@code condition} holds; throws an {@link AssertionError} naming {@code what} on timeout. */
    public static void until(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
            }
            pause(POLL_MILLIS);
        }
    }

    static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}

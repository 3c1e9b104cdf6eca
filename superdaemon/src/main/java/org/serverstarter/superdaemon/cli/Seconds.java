package org.serverstarter.superdaemon.cli;

import java.util.concurrent.TimeUnit;

/**
 * Durations in whole seconds, as the options and the environment give them, made safe for arithmetic: a value is
 * held to 0 .. 100 years, so that turning it into milliseconds or a {@code System.nanoTime()} deadline can never
 * overflow into a negative number (a 1e20-second interval once became 0 and respawned workers in a tight loop).
 */
public final class Seconds {
    /** Longer than any process lives; short enough that a nanosecond deadline stays far from overflow. */
    public static final long MAX = TimeUnit.DAYS.toSeconds(100 * 365);

    private Seconds() {
    }

    public static long clamp(long seconds) {
        return Math.max(0, Math.min(seconds, MAX));
    }

    public static long toMillis(long seconds) {
        return TimeUnit.SECONDS.toMillis(clamp(seconds));
    }

    public static long toNanos(long seconds) {
        return TimeUnit.SECONDS.toNanos(clamp(seconds));
    }
}

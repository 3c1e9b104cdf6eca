package org.serverstarter.samples;

/** The {@code ms} parameter of {@code GET /sleep?ms=N}: how long a deliberately slow request takes. */
public final class SleepParameter {
    /** Longer sleeps are cut to this, so a typo cannot hold a draining generation for hours. */
    public static final long MAX_MILLIS = 30_000;
    private static final long DEFAULT_MILLIS = 1_000;

    private SleepParameter() {}

    /**
     * @param raw the value of {@code ms}, or null when absent
     * @return the milliseconds to sleep, between 0 and {@link #MAX_MILLIS}
     * @throws IllegalArgumentException when the value is not a decimal number (the app answers 400)
     */
    public static long millis(String raw) {
        if (raw == null || raw.isEmpty()) {
            return DEFAULT_MILLIS;
        }
        long ms;
        try {
            ms = Long.parseLong(raw);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("ms must be a number of milliseconds, not '" + raw + "'");
        }
        return Math.max(0, Math.min(ms, MAX_MILLIS));
    }
}

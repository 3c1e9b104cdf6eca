package org.serverstarter.superdaemon.posix;

import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Linux signal names and numbers, so that {@code --signal-on-hup} and {@code --signal-on-term} can be checked
 * before anything is started (Perl finds a bad name only when it first sends it, and dies leaving its workers).
 */
public final class Signals {
    public static final int HUP = 1;
    public static final int INT = 2;
    public static final int KILL = 9;
    public static final int PIPE = 13;
    public static final int TERM = 15;

    private static final Map<String, Integer> NUMBERS = Map.ofEntries(
            Map.entry("HUP", 1), Map.entry("INT", 2), Map.entry("QUIT", 3), Map.entry("ILL", 4),
            Map.entry("TRAP", 5), Map.entry("ABRT", 6), Map.entry("IOT", 6), Map.entry("BUS", 7),
            Map.entry("FPE", 8), Map.entry("KILL", 9), Map.entry("USR1", 10), Map.entry("SEGV", 11),
            Map.entry("USR2", 12), Map.entry("PIPE", 13), Map.entry("ALRM", 14), Map.entry("TERM", 15),
            Map.entry("STKFLT", 16), Map.entry("CHLD", 17), Map.entry("CLD", 17), Map.entry("CONT", 18),
            Map.entry("STOP", 19), Map.entry("TSTP", 20), Map.entry("TTIN", 21), Map.entry("TTOU", 22),
            Map.entry("URG", 23), Map.entry("XCPU", 24), Map.entry("XFSZ", 25), Map.entry("VTALRM", 26),
            Map.entry("PROF", 27), Map.entry("WINCH", 28), Map.entry("IO", 29), Map.entry("POLL", 29),
            Map.entry("PWR", 30), Map.entry("SYS", 31), Map.entry("ZERO", 0));

    private Signals() {
    }

    /**
     * Perl's normalisation of a signal option: upper case, without a leading {@code SIG}. Returns the default for
     * an absent value, an empty one or {@code 0}, as Perl's {@code ||=} does.
     */
    public static String normalise(String name, String fallback) {
        if (name == null || name.isEmpty() || name.equals("0")) {
            return fallback;
        }
        String upper = name.toUpperCase(Locale.ROOT);
        return upper.startsWith("SIG") ? upper.substring(3) : upper;
    }

    /**
     * Whether a signal cannot end a worker: 0 sends nothing, and STOP, TSTP, TTIN and TTOU only suspend it, so a
     * restart or shutdown would wait for ever.
     */
    public static boolean cannotEndAWorker(int number) {
        return number == 0 || number >= 19 && number <= 22;
    }

    /** The number of a normalised name, or of a decimal number in the valid range. */
    public static OptionalInt number(String normalisedName) {
        Integer known = NUMBERS.get(normalisedName);
        if (known != null) {
            return OptionalInt.of(known);
        }
        if (normalisedName.matches("\\d{1,2}")) {
            int n = Integer.parseInt(normalisedName);
            if (n <= 64) {
                return OptionalInt.of(n);
            }
        }
        return OptionalInt.empty();
    }
}

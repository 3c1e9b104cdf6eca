package org.serverstarter.adapters;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.serverstarter.adapters.internal.Libc;

/**
 * Lets a new generation retire the old ones itself, once it is really ready, instead of when the superdaemon's
 * {@code --interval} has passed. Run the superdaemon with {@code --signal-on-hup=CONT} (a signal the old generation
 * ignores) and {@code --status-file=FILE}, and call {@link #retireOlderGenerations} when the new worker is serving.
 */
public final class SlowStart {
    private static final Pattern LINE = Pattern.compile("^([0-9]+):([0-9]+)$", Pattern.MULTILINE);
    // Linux's numbers on x86, ARM, RISC-V, PowerPC and s390: the signals an old generation is retired with.
    private static final Map<String, Integer> SIGNALS = Map.of("HUP", 1, "INT", 2, "QUIT", 3, "KILL", 9,
            "USR1", 10, "USR2", 12, "TERM", 15, "CONT", 18);

    private SlowStart() {}

    /**
     * Sends {@code signal} (a name such as {@code "TERM"}) to every worker listed in the superdaemon's status file
     * ({@code GEN:PID} lines) whose generation is below {@code ownGeneration}. Only pids whose parent is this process's
     * parent, i.e. siblings under the same superdaemon, are signalled: a stale status file must not make us kill an
     * unrelated process that reuses an old pid.
     *
     * @return the pids signalled
     * @throws IllegalArgumentException when {@code signal} is not one of HUP, INT, QUIT, KILL, USR1, USR2, TERM, CONT
     * @throws UncheckedIOException when the status file cannot be read or libc cannot be loaded
     */
    public static List<Long> retireOlderGenerations(Path statusFile, long ownGeneration, String signal) {
        Integer number = SIGNALS.get(signal.startsWith("SIG") ? signal.substring(3) : signal);
        if (number == null) {
            throw new IllegalArgumentException("not a signal name SlowStart sends: \"" + signal + "\" (expected one of "
                    + "HUP, INT, QUIT, KILL, USR1, USR2, TERM, CONT)");
        }
        Optional<ProcessHandle> superdaemon = ProcessHandle.current().parent();
        if (superdaemon.isEmpty()) {
            return List.of();
        }
        List<Long> signalled = new ArrayList<>();
        Matcher m = LINE.matcher(read(statusFile));
        while (m.find()) {
            long generation = Long.parseLong(m.group(1));
            long pid = Long.parseLong(m.group(2));
            boolean sibling = ProcessHandle.of(pid).flatMap(ProcessHandle::parent)
                    .map(p -> p.pid() == superdaemon.get().pid()).orElse(false);
            if (generation < ownGeneration && sibling && kill(number, pid)) {
                signalled.add(pid);
            }
        }
        return signalled;
    }

    private static String read(Path statusFile) {
        try {
            return Files.readString(statusFile);
        } catch (NoSuchFileException e) {
            return "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Through libc: the JDK itself can only send TERM and KILL. False when the process is gone (or not ours to
     * signal) by now.
     */
    private static boolean kill(int signal, long pid) {
        try {
            return Libc.get().kill(Math.toIntExact(pid), signal) == 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

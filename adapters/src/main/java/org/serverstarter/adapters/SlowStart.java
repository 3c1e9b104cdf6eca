package org.serverstarter.adapters;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Lets a new generation retire the old ones itself, once it is really ready, instead of when the superdaemon's
 * {@code --interval} has passed. Run the superdaemon with {@code --signal-on-hup=CONT} (a signal the old generation
 * ignores) and {@code --status-file=FILE}, and call {@link #retireOlderGenerations} when the new worker is serving.
 */
public final class SlowStart {
    private static final Pattern LINE = Pattern.compile("^([0-9]+):([0-9]+)$", Pattern.MULTILINE);
    private static final Pattern SIGNAL_NAME = Pattern.compile("[A-Z][A-Z0-9]*");

    private SlowStart() {}

    /**
     * Sends {@code signal} (a name such as {@code "TERM"}) to every worker listed in the superdaemon's status file
     * ({@code GEN:PID} lines) whose generation is below {@code ownGeneration}. Only pids whose parent is this process's
     * parent, i.e. siblings under the same superdaemon, are signalled: a stale status file must not make us kill an
     * unrelated process that reuses an old pid.
     *
     * @return the pids signalled
     */
    public static List<Long> retireOlderGenerations(Path statusFile, long ownGeneration, String signal) {
        if (!SIGNAL_NAME.matcher(signal).matches()) {
            throw new IllegalArgumentException("not a signal name: \"" + signal + "\" (expected e.g. \"TERM\")");
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
            if (generation < ownGeneration && sibling && kill(signal, pid)) {
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

    /** Through kill(1): the JDK itself can only send TERM and KILL. */
    private static boolean kill(String signal, long pid) {
        try {
            Process p = new ProcessBuilder("kill", "-s", signal, Long.toString(pid))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run kill(1) to send " + signal + " to " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}

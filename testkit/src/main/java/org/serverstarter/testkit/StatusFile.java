package org.serverstarter.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads a superdaemon's {@code --status-file} ({@code GEN:PID} lines). */
public final class StatusFile {
    private static final Pattern LINE = Pattern.compile("^(\\d+):(\\d+)$", Pattern.MULTILINE);

    private StatusFile() {}

    /** Generation to pid, numerically sorted; empty when the file does not exist. */
    public static SortedMap<Long, Long> read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            return Collections.emptySortedMap();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SortedMap<Long, Long> generations = new TreeMap<>();
        Matcher m = LINE.matcher(text);
        while (m.find()) {
            generations.put(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
        }
        return generations;
    }

    /** Waits until the file's contents satisfy {@code condition} and returns them. */
    public static SortedMap<Long, Long> awaitGenerations(Path file, Predicate<SortedMap<Long, Long>> condition,
                                                        Duration timeout) {
        AtomicReference<SortedMap<Long, Long>> last = new AtomicReference<>();
        try {
            Await.until("status file " + file + " to match", timeout, () -> {
                last.set(read(file));
                return condition.test(last.get());
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + " (last contents: " + last.get() + ")", e);
        }
        return last.get();
    }
}

package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A daemontools-style environment directory: each file's name is a variable, the first line of its content (without
 * the line break, blanks kept) the value. Hidden files, subdirectories, unreadable and empty files are skipped.
 *
 * <p>Only the start of each file is read: a first line longer than Linux lets one environment string be
 * ({@code MAX_ARG_STRLEN}, 128 KiB) could not reach a worker anyway, so such a file is skipped with one line, said
 * once until it changes, instead of being read whole on every loop.
 */
final class Envdir {
    static final int MAX_VALUE_BYTES = 128 * 1024;

    private final Set<String> reportedTooLong = new HashSet<>();

    /** The variables in {@code dir}, or none when it is not a directory (as Perl, which loads nothing then). */
    Map<String, String> load(String dir) {
        Map<String, String> variables = new TreeMap<>();
        if (dir == null || dir.isEmpty() || !Files.isDirectory(Path.of(dir))) {
            return variables;
        }
        Set<String> tooLong = new HashSet<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of(dir))) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".") || !Files.isRegularFile(entry)) {
                    continue;
                }
                byte[] head;
                try (InputStream in = Files.newInputStream(entry)) {
                    head = in.readNBytes(MAX_VALUE_BYTES + 1);
                } catch (IOException | RuntimeException unreadable) {
                    continue; // Perl skips what it cannot open; so do we.
                }
                int end = 0;
                while (end < head.length && head[end] != '\n') {
                    end++;
                }
                if (end > MAX_VALUE_BYTES) {
                    tooLong.add(name);
                } else if (head.length > 0) {
                    variables.put(name, new String(head, 0, end, StandardCharsets.UTF_8));
                }
            }
        } catch (IOException | RuntimeException e) {
            return variables;
        }
        for (String name : tooLong) {
            if (!reportedTooLong.contains(name)) {
                System.err.println("envdir " + dir + ": ignoring " + name + ", its first line is longer than "
                        + MAX_VALUE_BYTES + " bytes");
            }
        }
        reportedTooLong.retainAll(tooLong);
        reportedTooLong.addAll(tooLong);
        return variables;
    }
}

package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * A daemontools-style environment directory: each file's name is a variable, the first line of its content (without
 * the line break, blanks kept) the value. Hidden files, subdirectories, unreadable and empty files are skipped.
 */
final class Envdir {
    private Envdir() {
    }

    /** The variables in {@code dir}, or none when it is not a directory (as Perl, which loads nothing then). */
    static Map<String, String> load(String dir) {
        Map<String, String> variables = new TreeMap<>();
        if (dir == null || dir.isEmpty() || !Files.isDirectory(Path.of(dir))) {
            return variables;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of(dir))) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".") || !Files.isRegularFile(entry)) {
                    continue;
                }
                try {
                    String content = new String(Files.readAllBytes(entry), StandardCharsets.UTF_8);
                    if (!content.isEmpty()) {
                        int newline = content.indexOf('\n');
                        variables.put(name, newline < 0 ? content : content.substring(0, newline));
                    }
                } catch (IOException | RuntimeException unreadable) {
                    // Perl skips what it cannot open; so do we.
                }
            }
        } catch (IOException e) {
            return variables;
        }
        return variables;
    }
}

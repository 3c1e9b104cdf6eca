package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.SortedMap;

/**
 * The {@code --status-file}: one {@code GENERATION:PID} line per live worker. Each write goes to
 * {@code PATH.SUPERDAEMONPID} and is renamed over the file, so readers never see half of one. Lines are sorted by
 * generation as numbers (Perl sorts them as strings, so 10 came before 9). The file is removed at exit only if this
 * process wrote it, so that a second start_server that fails to bind leaves the running one's file alone.
 */
final class StatusFile {
    private final Path path;
    private final Path temporary;
    private boolean created;

    StatusFile(String path) {
        this.path = Path.of(path);
        this.temporary = Path.of(path + "." + ProcessHandle.current().pid());
    }

    /** Proves, before any worker runs, that the file can be written (Perl finds out after the first start). */
    void checkWritable() {
        try {
            Files.deleteIfExists(temporary);
            Files.createFile(temporary);
            Files.delete(temporary);
        } catch (IOException e) {
            throw Errors.fatal("failed to create temporary file:" + temporary + ":", e);
        }
    }

    void write(SortedMap<Long, Long> pidByGeneration) {
        StringBuilder content = new StringBuilder();
        for (Map.Entry<Long, Long> e : pidByGeneration.entrySet()) {
            content.append(e.getKey()).append(':').append(e.getValue()).append('\n');
        }
        try {
            Files.writeString(temporary, content, StandardCharsets.US_ASCII);
            created = true;
        } catch (IOException e) {
            throw Errors.fatal("failed to create temporary file:" + temporary + ":", e);
        }
        try {
            Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw Errors.fatal("failed to rename " + temporary + " to " + path + ":", e);
        }
    }

    void removeIfCreated() {
        if (created) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // Nothing sensible to do while exiting.
            }
        }
    }

}

package org.serverstarter.superdaemon.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.serverstarter.superdaemon.server.Fatal;

/** Reading the pid file the way both client modes need it. */
final class ClientFiles {
    private ClientFiles() {
    }

    /** The first line of the pid file, without its line break. */
    static String readPid(String path) {
        try {
            String content = Files.readString(Path.of(path), StandardCharsets.US_ASCII);
            int newline = content.indexOf('\n');
            return newline < 0 ? content : content.substring(0, newline);
        } catch (NoSuchFileException e) {
            throw new Fatal("failed to open file:" + path + ":No such file or directory", 2);
        } catch (IOException e) {
            throw Fatal.of("failed to open file:" + path + ":" + e.getMessage());
        }
    }

    static long parsePid(String pid, String path) {
        if (!pid.matches("\\d+") || pid.length() > 9) {
            throw Fatal.of("invalid pid in " + path + ":" + pid);
        }
        return Long.parseLong(pid);
    }
}

package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Turns a java.nio file error into Perl's {@code $!} text and errno, for the messages and exit status. */
final class Errors {
    private Errors() {
    }

    static Fatal fatal(String prefix, IOException e) {
        if (e instanceof NoSuchFileException) {
            return new Fatal(prefix + "No such file or directory", 2);
        }
        if (e instanceof AccessDeniedException) {
            return new Fatal(prefix + "Permission denied", 13);
        }
        if (e instanceof FileAlreadyExistsException) {
            return new Fatal(prefix + "File exists", 17);
        }
        if (e instanceof NotDirectoryException) {
            return new Fatal(prefix + "Not a directory", 20);
        }
        String reason = e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : e.getMessage();
        if (reason != null && reason.contains("Not a directory")) {
            return new Fatal(prefix + "Not a directory", 20);
        }
        if (reason != null && reason.contains("Read-only file system")) {
            return new Fatal(prefix + "Read-only file system", 30);
        }
        return new Fatal(prefix + (reason == null ? e.getClass().getSimpleName() : reason), 255);
    }
}

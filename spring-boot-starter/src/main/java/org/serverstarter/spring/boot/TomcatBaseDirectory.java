package org.serverstarter.spring.boot;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import org.springframework.boot.SpringApplication;

/**
 * Tomcat's base directory for an app that left {@code server.tomcat.basedir} unset. Boot then makes one under
 * {@code java.io.tmpdir} at every start and leaves it behind at exit (Tomcat fills it, so {@code deleteOnExit} cannot
 * remove it). Under {@code start_server} every restart is a start, so a host would gather one per restart. This one is
 * made as Boot makes its own (a random name, readable by this user only) and deleted, without following links, once
 * Spring Boot has closed the app and its server.
 */
final class TomcatBaseDirectory {
    private TomcatBaseDirectory() {
    }

    /** A new private directory, deleted with everything in it when the JVM shuts down after the app closed. */
    static File create() {
        return create(Path.of(System.getProperty("java.io.tmpdir")));
    }

    static File create(Path parent) {
        Path directory;
        try {
            directory = Files.createTempDirectory(parent, "tomcat.server-starter.");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create Tomcat's base directory under " + parent + ": "
                    + e.getMessage(), e);
        }
        try {
            SpringApplication.getShutdownHandlers().add(() -> delete(directory));
        } catch (IllegalStateException e) {
            // Boot's shutdown has begun (a TERM while the app starts) and takes no more handlers: this start is over.
            delete(directory);
            throw e;
        }
        return directory.toFile();
    }

    static void delete(Path directory) {
        try {
            Files.walkFileTree(directory, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException failure) throws IOException {
                    if (failure != null) {
                        throw failure;
                    }
                    Files.delete(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("server-starter: could not delete Tomcat's base directory " + directory + ": " + e);
        }
    }
}

package org.serverstarter.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the repository checkout, so tests can find {@code superdaemon/bin/start_server} from any module. */
public final class Repo {
    private Repo() {}

    /** The nearest directory at or above {@code user.dir} that holds both {@code superdaemon/} and {@code pom.xml}. */
    public static Path root() {
        Path start = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("superdaemon")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no repository root (a directory with superdaemon/ and pom.xml) above " + start);
    }
}

package org.serverstarter.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

/** The two superdaemons every integration test runs under: ours and Perl's reference implementation. */
public enum Superdaemon {
    /** {@code <repo>/superdaemon/bin/start_server}; usable once {@code superdaemon/target/start_server.jar} is built. */
    JAVA {
        @Override
        public Path executable() {
            return Repo.root().resolve("superdaemon/bin/start_server");
        }

        @Override
        public boolean isAvailable() {
            return Files.isExecutable(executable())
                    && Files.isRegularFile(Repo.root().resolve("superdaemon/target/start_server.jar"));
        }
    },
    /** Debian's libserver-starter-perl. */
    PERL {
        @Override
        public Path executable() {
            return Path.of("/usr/bin/start_server");
        }

        @Override
        public boolean isAvailable() {
            return Files.isExecutable(executable());
        }
    };

    public abstract Path executable();

    public abstract boolean isAvailable();

    /**
     * The superdaemons present on this machine, for {@code @MethodSource}; only ours where the system property
     * {@code testkit.oursOnly} is true (a module whose question is not the superdaemon, such as the framework floors).
     */
    public static Stream<Superdaemon> available() {
        return Arrays.stream(values()).filter(Superdaemon::isAvailable)
                .filter(s -> s == JAVA || !Boolean.getBoolean("testkit.oursOnly"));
    }
}

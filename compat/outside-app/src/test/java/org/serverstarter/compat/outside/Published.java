package org.serverstarter.compat.outside;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.serverstarter.testkit.Repo;

/**
 * What {@code mvn install} publishes, where the build that runs these tests made it, and where it went: the local
 * repository of that build ({@code -Dmaven.repo.local} included).
 */
final class Published {
    /** A published module: its directory in the checkout, its artifactId, and its Automatic-Module-Name. */
    record Module(String dir, String artifactId, String moduleName) {
        Path built(String suffix) {
            return Repo.root().resolve(dir).resolve("target").resolve(artifactId + "-" + VERSION + suffix);
        }

        Path sourcePom() {
            return Repo.root().resolve(dir).resolve("pom.xml");
        }

        Path installed(String suffix) {
            return REPOSITORY.resolve("org/serverstarter").resolve(artifactId).resolve(VERSION)
                    .resolve(artifactId + "-" + VERSION + suffix);
        }
    }

    static final String VERSION = System.getProperty("outside.version");
    static final Path REPOSITORY = Path.of(System.getProperty("outside.repository"));

    /** The library modules: jar, pom, sources and Javadoc each. */
    static final List<Module> JARS = List.of(
            new Module("adapters", "adapters", "org.serverstarter.adapters"),
            new Module("adapter-jetty", "adapter-jetty", "org.serverstarter.jetty"),
            new Module("adapter-undertow", "adapter-undertow", "org.serverstarter.undertow"),
            new Module("adapter-netty", "adapter-netty", "org.serverstarter.netty"),
            new Module("adapter-tomcat", "adapter-tomcat", "org.serverstarter.tomcat"),
            new Module("adapter-reactor-netty", "adapter-reactor-netty", "org.serverstarter.reactor.netty"),
            new Module("adapter-grpc", "adapter-grpc", "org.serverstarter.grpc"),
            new Module("spring-boot-starter", "server-starter-spring-boot-starter", "org.serverstarter.spring.boot"));
    /** A pom alone: the BOM, and the parent that every published pom names. */
    static final List<Module> POMS = List.of(
            new Module(".", "server-starter-parent", null),
            new Module("bom", "server-starter-bom", null));
    static final List<String> JAR_SUFFIXES = List.of(".jar", "-sources.jar", "-javadoc.jar");

    private Published() {}

    /**
     * Fails, in one line, unless every published file in the local repository is the one this build made: these tests
     * are about what this build installs, not about what an older build (or another checkout) left there.
     */
    static void assertThisBuildInstalledEverything() {
        for (Module module : JARS) {
            for (String suffix : JAR_SUFFIXES) {
                assertSame(module.built(suffix), module.installed(suffix));
            }
            assertSame(module.sourcePom(), module.installed(".pom"));
        }
        for (Module module : POMS) {
            assertSame(module.sourcePom(), module.installed(".pom"));
        }
    }

    private static void assertSame(Path built, Path installed) {
        if (!Files.isRegularFile(built)) {
            throw new AssertionError(Repo.root().relativize(built) + " was not built");
        }
        if (!Files.isRegularFile(installed) || mismatch(built, installed)) {
            throw new AssertionError(installed + (Files.exists(installed) ? " is not " : " is missing, not a copy of ")
                    + Repo.root().relativize(built) + ": run `mvn install` (README's test command), which installs"
                    + " every published module before this one runs, not `mvn verify`");
        }
    }

    static boolean mismatch(Path a, Path b) {
        try {
            return Files.mismatch(a, b) != -1;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

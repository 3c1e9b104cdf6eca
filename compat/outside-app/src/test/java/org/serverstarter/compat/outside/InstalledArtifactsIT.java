package org.serverstarter.compat.outside;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;
import org.serverstarter.compat.outside.Published.Module;
import org.serverstarter.testkit.Repo;

/**
 * After {@code mvn install}, the local repository holds, for each published module, the jar, pom, sources and Javadoc
 * this build made, and nothing else this build made: no test-jar, no testkit, sample, compat module or superdaemon.
 * "This build made" is told by content, since jars are rebuilt at every build: a copy left by an older install, or by
 * a build of another checkout, is neither counted as installed nor blamed as wrongly installed.
 */
class InstalledArtifactsIT {
    @Test
    void everyPublishedModuleIsInstalledWithItsSourcesAndJavadoc() {
        Published.assertThisBuildInstalledEverything();
    }

    @Test
    void eachJarHoldsWhatItsNameSays() throws IOException {
        Published.assertThisBuildInstalledEverything();
        for (Module module : Published.JARS) {
            try (JarFile jar = new JarFile(module.installed(".jar").toFile())) {
                assertEquals(module.moduleName(), jar.getManifest().getMainAttributes().getValue("Automatic-Module-Name"),
                        module.artifactId() + "'s Automatic-Module-Name");
            }
            String packagePath = module.moduleName().replace('.', '/') + "/";
            assertTrue(entries(module.installed("-sources.jar")).anyMatch(
                    e -> e.startsWith(packagePath) && e.endsWith(".java")), module.artifactId() + "-sources has no "
                    + packagePath + "*.java");
            List<String> javadoc = entries(module.installed("-javadoc.jar")).toList();
            assertTrue(javadoc.contains("index.html") && javadoc.stream().anyMatch(
                    e -> e.startsWith(packagePath) && e.endsWith(".html")), module.artifactId() + "-javadoc has no "
                    + "index.html or no page under " + packagePath);
            assertTrue(javadoc.stream().noneMatch(e -> e.contains("/internal/")),
                    module.artifactId() + "-javadoc documents an internal package");
        }
    }

    @Test
    void nothingElseThisBuildMadeIsInstalled() throws IOException {
        Published.assertThisBuildInstalledEverything();
        List<Path> built = builtJars();
        assertEquals(List.of(), built.stream().filter(p -> p.getFileName().toString().endsWith("-tests.jar")).toList(),
                "test-jars built");

        Map<String, Path> installedByDigest = new HashMap<>();
        Path ours = Published.REPOSITORY.resolve("org/serverstarter");
        try (Stream<Path> files = Files.walk(ours)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                installedByDigest.put(digest(file), file);
            }
        }
        List<Path> published = new ArrayList<>();
        for (Module module : Published.JARS) {
            for (String suffix : Published.JAR_SUFFIXES) {
                published.add(module.built(suffix));
            }
        }
        List<String> wronglyInstalled = new ArrayList<>();
        for (Path jar : built) {
            Path copy = installedByDigest.get(digest(jar));
            if (!published.contains(jar) && copy != null) {
                wronglyInstalled.add(Repo.root().relativize(jar) + " as " + copy);
            }
        }
        assertEquals(List.of(), wronglyInstalled, "installed but not published (from an older build of this same tree,"
                + " if its classes were not recompiled since: then delete " + ours + ")");
    }

    /** Every jar the reactor left in a module's target/, the published ones included. */
    private static List<Path> builtJars() throws IOException {
        try (Stream<Path> files = Files.find(Repo.root(), 4, (p, attributes) -> attributes.isRegularFile()
                && p.getFileName().toString().endsWith(".jar") && p.getParent().getFileName().toString().equals("target"))) {
            return files.filter(p -> !p.startsWith(Repo.root().resolve("bench"))).sorted().toList();
        }
    }

    private static Stream<String> entries(Path jar) throws IOException {
        try (JarFile file = new JarFile(jar.toFile())) {
            return file.stream().map(ZipEntry::getName).collect(Collectors.toList()).stream();
        }
    }

    private static String digest(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[64 * 1024];
            for (int n; (n = in.read(buffer)) > 0; ) {
                sha.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package org.serverstarter.compat.outside;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.compat.outside.Published.Module;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Exited;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Repo;
import org.serverstarter.testkit.RestartsUnderLoad;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * A Spring Boot app outside the reactor ({@code app/}: its own pom.xml with spring-boot-starter-parent, the BOM and the
 * starter as spring-boot-starter/README.md shows them) builds offline against the artifacts {@code mvn install} put in
 * the local repository, and its {@code java -jar} restarts under load with {@code --readiness=notify} losing nothing.
 */
class OutsideAppIT {
    private static final Path APP = Repo.root().resolve("compat/outside-app/app");
    private static final Path STARTER_README = Repo.root().resolve("spring-boot-starter/README.md");
    private static final Path ROOT_README = Repo.root().resolve("README.md");
    private static final Duration BUILD_WAIT = Duration.ofMinutes(5);
    private static final Duration WAIT = Duration.ofSeconds(90);

    @Test
    void itsPomHoldsTheReadmesFragmentsAndThisBuildsSpringBoot() throws IOException {
        String pom = Files.readString(APP.resolve("pom.xml"));
        assertEquals(3, assertHoldsFragmentsOf(pom, STARTER_README), "xml fragments in " + STARTER_README
                + " (BOM, starter, manifest entries)");
        assertEquals(1, assertHoldsFragmentsOf(pom, ROOT_README), "xml fragments in " + ROOT_README + " (BOM)");
        Matcher parent = Pattern.compile("<artifactId>spring-boot-starter-parent</artifactId>\\s*<version>([^<]+)<")
                .matcher(pom);
        assertTrue(parent.find(), "app/pom.xml has no spring-boot-starter-parent");
        assertEquals(System.getProperty("outside.springBootVersion"), parent.group(1),
                "app/pom.xml's Spring Boot, which must be the one the root pom builds the starter with");
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void buildsOfflineAgainstTheInstalledBomAndRestartsUnderLoadLosingNothing(@TempDir Path dir) throws Exception {
        Published.assertThisBuildInstalledEverything();
        Path app = copy(APP, dir.resolve("app"));
        List<String> mvn = new ArrayList<>(List.of(System.getProperty("outside.maven"), "-o", "-q", "-B", "package",
                "-Dmaven.repo.local=" + Published.REPOSITORY));
        mvn.addAll(Arrays.asList(System.getProperty("outside.pluginVersions").split(" ")));
        Exited build = Exited.run(new ProcessBuilder(mvn).directory(app.toFile()), BUILD_WAIT);
        assertEquals(0, build.status(), "mvn package of the outside app:\n" + build.output());

        Path jar = app.resolve("target/outside-app-1.0.jar");
        assertServesWithThisBuildsStarterAndBootsTomcat(jar);

        int port = Ports.freeTcpPort();
        Path status = dir.resolve("status");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // The README's command line: java -jar, no JVM flag (the manifest carries them).
        List<String> args = List.of("--port=127.0.0.1:" + port, "--readiness=notify", "--status-file=" + status, "--",
                java.toString(), "-jar", jar.toString());
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args, Map.of(), dir)) {
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
            long first = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            Await.until("generation 1 answering", WAIT, () -> answers(address, first));
            assertEquals("outside app pid=" + first + "\n", HttpClient.get(address, "/").body(), starter.output());
            RestartsUnderLoad.run(starter, address, status, first);
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(WAIT), starter.output());
        }
    }

    /**
     * The starter and adapters inside the app are this build's, and the server is Boot's own Tomcat, once: the
     * starter brings no server of its own, and no Jetty.
     */
    private static void assertServesWithThisBuildsStarterAndBootsTomcat(Path jar) throws IOException {
        try (JarFile boot = new JarFile(jar.toFile())) {
            List<String> libs = boot.stream().map(ZipEntry::getName).filter(n -> n.startsWith("BOOT-INF/lib/"))
                    .map(n -> n.substring("BOOT-INF/lib/".length())).toList();
            for (Module module : Published.JARS) {
                if (List.of("adapters", "adapter-tomcat", "adapter-jetty", "server-starter-spring-boot-starter")
                        .contains(module.artifactId())) {
                    String name = module.artifactId() + "-" + Published.VERSION + ".jar";
                    ZipEntry entry = boot.getEntry("BOOT-INF/lib/" + name);
                    assertTrue(entry != null, name + " not in the app; its libraries: " + libs);
                    assertArrayEquals(Files.readAllBytes(module.built(".jar")), boot.getInputStream(entry).readAllBytes(),
                            name + " in the app is not this build's");
                }
            }
            assertEquals(1, libs.stream().filter(n -> n.startsWith("tomcat-embed-core-")).count(), libs.toString());
            assertEquals(List.of(), libs.stream().filter(n -> n.startsWith("jetty-")).toList(), "Jetty in a Tomcat app");
        }
    }

    private static boolean answers(InetSocketAddress address, long pid) {
        try {
            return HttpClient.get(address, "/").body().strip().endsWith("pid=" + pid);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Asserts that {@code pom} holds every xml block of {@code readme}, whitespace between tags aside; their count. */
    private static int assertHoldsFragmentsOf(String pom, Path readme) throws IOException {
        Matcher fragments = Pattern.compile("```xml\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(readme));
        int count = 0;
        while (fragments.find()) {
            count++;
            assertTrue(normalized(pom).contains(normalized(fragments.group(1))),
                    "app/pom.xml lacks this fragment of " + readme + ":\n" + fragments.group(1));
        }
        return count;
    }

    private static String normalized(String xml) {
        return xml.replaceAll(">\\s+<", "><").strip();
    }

    /** The app's sources only, so that a target/ left by building it by hand cannot stand in for this build's. */
    private static Path copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            files.filter(p -> !p.startsWith(from.resolve("target"))).forEach(p -> {
                try {
                    Files.copy(p, to.resolve(from.relativize(p).toString()));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        return to;
    }
}

package org.serverstarter.samples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Repo;

/**
 * The class-data-sharing archives {@code mvn package} records with {@code samples/cds/train} are mapped by
 * {@code samples/java-app}: a change to either that silently stops a sample from using its archive fails here.
 */
class SampleArchivesIT {

    @ParameterizedTest(name = "{0}")
    @CsvSource({"jetty, org.serverstarter.samples.jetty.JettySampleApp",
            "undertow, org.serverstarter.samples.undertow.UndertowSampleApp",
            "netty, org.serverstarter.samples.netty.NettySampleApp",
            "tomcat, org.serverstarter.samples.tomcat.TomcatSampleApp"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void theSampleLoadsItsClassesFromItsArchive(String app, String mainClass, @TempDir Path dir) throws Exception {
        Path log = dir.resolve("classes.log");
        ProcessBuilder builder = new ProcessBuilder(Repo.root().resolve("samples/" + app + "/run").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("output").toFile());
        builder.environment().put("PORT", Integer.toString(Ports.freeTcpPort()));
        // The Tomcat sample keeps its base directory in java.io.tmpdir; it is stopped here before it can remove it.
        builder.environment().put("JAVA_TOOL_OPTIONS", "-Xlog:class+load:file=" + log + " -Djava.io.tmpdir=" + dir);
        builder.environment().remove("SERVER_STARTER_PORT");
        Process sample = builder.start();
        try {
            String line = mainClass + " source: shared objects file";
            Await.until(app + " to load its main class", Duration.ofSeconds(30),
                    () -> Files.exists(log) && read(log).contains(mainClass + " source: "));
            String loaded = read(log);
            assertTrue(loaded.contains(line), "not from target/cds: " + loaded.lines()
                    .filter(l -> l.contains(mainClass)).findFirst().orElse("(not loaded)"));
        } finally {
            sample.destroy();
            if (!sample.waitFor(20, TimeUnit.SECONDS)) {
                sample.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

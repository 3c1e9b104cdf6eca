package org.serverstarter.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Files;
import java.time.Duration;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.Exited;

/**
 * A Jetty older than the oldest the adapter supports is refused at {@code listen} in one line, before any socket is
 * touched, rather than failing later inside a drain with a {@code NoSuchMethodError}.
 */
class RefusedJettyIT {
    @Test
    void anOlderJettyIsRefusedInOneLineThatEscapesMainWithoutAStackTrace() throws Exception {
        Path refused = Path.of(System.getProperty("refused.jetty.dir"));
        String version = System.getProperty("refused.jetty.version");
        List<String> classpath = new ArrayList<>();
        // The test classpath with its Jetty jars (the supported floor) swapped for the refused release's.
        Arrays.stream(System.getProperty("java.class.path").split(":"))
                .filter(entry -> !entry.contains("/org/eclipse/jetty/"))
                .forEach(classpath::add);
        try (Stream<Path> jars = Files.list(refused)) {
            jars.map(Path::toString).forEach(classpath::add);
        }
        List<String> argv = new ArrayList<>(ChildJava.command(TooOldJettyApp.class));
        argv.set(argv.indexOf("-cp") + 1, String.join(":", classpath));
        ProcessBuilder builder = new ProcessBuilder(argv);
        // fd 3 need not even be open: the version is checked before any socket.
        builder.environment().put("SERVER_STARTER_PORT", "127.0.0.1:8080=3");
        Exited app = Exited.run(builder, Duration.ofSeconds(60));
        String output = app.output();
        assertNotEquals(0, app.status(), output);
        List<String> lines = output.lines().filter(line -> !line.startsWith("SLF4J")).collect(Collectors.toList());
        assertEquals(List.of("Exception in thread \"main\" org.serverstarter.adapters.StarterException: "
                + "JettyServerStarter needs Jetty 12.0.5 or later, not " + version), lines, output);
    }
}

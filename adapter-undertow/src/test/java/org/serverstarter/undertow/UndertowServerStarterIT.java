package org.serverstarter.undertow;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/**
 * {@link UndertowWorker} in a child JVM under a real start_server, for what only the Undertow adapter has (what every
 * adapter must do is in {@link UndertowContractIT}).
 */
class UndertowServerStarterIT {
    private static final Duration START = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    /**
     * Pins a limitation the README documents: jboss-threads, which XNIO's worker uses, needs sun.misc.Unsafe, and
     * JDK 24+ can deny it. Should a later jboss-threads drop Unsafe, this fails and the README needs updating.
     */
    @Test
    @Timeout(60)
    void deniedUnsafeMemoryAccessIsNamedInOneLine() {
        Path jdk = ChildJava.jdks().stream().filter(home -> featureVersion(home) >= 24).findFirst().orElse(null);
        Assumptions.assumeTrue(jdk != null, "no JDK 24+ to run the worker on");
        List<String> worker = new ArrayList<>(ChildJava.command(jdk, UndertowWorker.class));
        worker.add(1, "--sun-misc-unsafe-memory-access=deny");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + Ports.freeTcpPort(), "--"));
        args.addAll(worker);
        try (StarterProcess starter = StarterProcess.start(Superdaemon.available().findFirst().orElseThrow(), args,
                Map.of(), dir)) {
            starter.awaitOutput("StarterException: cannot start the XNIO worker .*"
                    + Pattern.quote("--sun-misc-unsafe-memory-access=deny"), START);
        }
    }

    /** The JDK's feature release number, from the {@code release} file every JDK image carries. */
    private static int featureVersion(Path javaHome) {
        try {
            Matcher version = Pattern.compile("^JAVA_VERSION=\"(\\d+)", Pattern.MULTILINE)
                    .matcher(Files.readString(javaHome.resolve("release")));
            return version.find() ? Integer.parseInt(version.group(1)) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

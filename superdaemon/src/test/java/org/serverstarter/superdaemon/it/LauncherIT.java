package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Repo;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/** {@code superdaemon/bin/start_server} itself: how it finds the jar and which JVM it starts. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LauncherIT {

    private static final Path LAUNCHER = Superdaemon.JAVA.executable();

    @Test
    void worksThroughASymlinkFromAnyDirectory(@TempDir Path dir) throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("start_server"), LAUNCHER);
        Run version = run(dir, link.toString(), "--version");
        assertEquals(0, version.status, version.output);
        assertEquals("0.35\n", version.output);
    }

    /**
     * The class-data-sharing archive `mvn package` dumps is what keeps the superdaemon's start-up and footprint
     * down (docs/benchmarks.md); a launcher or build change that silently stops it being mapped fails here.
     */
    @Test
    void mapsTheClassesArchiveBuiltWithIt(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("classes.log");
        ProcessBuilder builder = new ProcessBuilder(LAUNCHER.toString(), "--version").directory(dir.toFile());
        builder.environment().put("JAVA_TOOL_OPTIONS", "-Xlog:class+load:file=" + log);
        Run version = run(builder);
        assertEquals(0, version.status, version.output);
        String loaded = Files.readString(log);
        assertTrue(loaded.contains("org.serverstarter.superdaemon.Main source: shared objects file"),
                "Main was not loaded from target/start_server.jsa:\n" + loaded.lines()
                        .filter(line -> line.contains("org.serverstarter")).findFirst().orElse(loaded));
    }

    /** jffi's stub comes from beside the jar, not from a temporary copy made at each start. */
    @Test
    void loadsTheNativeStubUnpackedByTheBuild(@TempDir Path dir) throws Exception {
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA,
                Reports.args("--port=127.0.0.1:" + Ports.freeTcpPort()), Map.of(), dir)) {
            starter.awaitOutput("starting new worker", Reports.TIMEOUT);
            String maps = Files.readString(Path.of("/proc/" + starter.pid() + "/maps"));
            String stub = maps.lines().filter(line -> line.contains("jffi")).findFirst().orElse("(not mapped)");
            assertTrue(stub.contains(Repo.root().resolve("superdaemon/target/jni").toString()), stub);
        }
    }

    private record Run(int status, String output) {
    }

    private static Run run(Path dir, String... command) throws IOException, InterruptedException {
        return run(new ProcessBuilder(command).directory(dir.toFile()));
    }

    private static Run run(ProcessBuilder builder) throws IOException, InterruptedException {
        Process process = builder.redirectErrorStream(true).start();
        try {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "launcher did not exit");
            return new Run(process.exitValue(), output);
        } finally {
            process.destroyForcibly();
        }
    }
}

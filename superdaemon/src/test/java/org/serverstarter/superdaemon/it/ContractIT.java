package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * What a worker sees, compared side by side: the same scenario under Perl's start_server and ours must give the
 * worker the same contract variables, the same exported options, the same envdir values, the same directory and
 * the same sockets. Process state Perl gets only by accident (its fds, the signal mask of whoever started it) is
 * checked on ours alone.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ContractIT {

    private record Seen(Properties first, Properties second) {
    }

    private Seen scenario(Superdaemon which, Path dir, int port) throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Path envdir = Files.createDirectories(dir.resolve("env"));
        Files.writeString(envdir.resolve("APP_MODE"), "blue\nignored second line\n");
        Files.writeString(envdir.resolve("SPACED"), "  kept  \n");
        Files.writeString(envdir.resolve(".hidden"), "no\n");
        Path status = dir.resolve("status");
        Reports reports = new Reports(dir);
        List<String> args = Reports.args("--port=" + port, "--port=127.0.0.1:u" + port, "--dir=" + work,
                "--envdir=" + envdir, "--kill-old-delay=0", "--status-file=" + status);
        try (StarterProcess starter = StarterProcess.start(which, args, Map.of("REPORT_DIR", dir.toString(),
                "INHERITED", "yes"), dir)) {
            Properties first = reports.await(1);
            StatusFile.awaitGenerations(status, g -> g.containsKey(1L), Reports.TIMEOUT);
            Files.writeString(envdir.resolve("APP_MODE"), "green\n");
            starter.signal("HUP");
            Properties second = reports.await(2);
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
            return new Seen(first, second);
        }
    }

    /** The variables a superdaemon adds or changes, and the socket facts, for comparison. */
    private static Map<String, String> contract(Properties p, Path dir) {
        Map<String, String> c = new TreeMap<>();
        for (String key : p.stringPropertyNames()) {
            String value = p.getProperty(key).replace(dir.toString(), "DIR");
            // The lifeline is ours alone (docs/compatibility.md); ourWorkersGetExactlyTheirSockets... checks it.
            boolean added = key.startsWith("env.") && !System.getenv().containsKey(key.substring(4))
                    && !key.equals("env.SERVER_STARTER_LIFELINE");
            if (added || key.equals("env.INHERITED") || key.equals("generation") || key.equals("cwd")
                    || key.matches("fd\\.[3-9]\\.(family|type|listening|address)")) {
                c.put(key, value);
            }
        }
        return c;
    }

    @Test
    void workersSeeTheSameContractUnderBoth(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Superdaemon.PERL.isAvailable(), "Perl's start_server is not installed");
        int port = Ports.freeTcpPort();
        Seen perl = scenario(Superdaemon.PERL, Files.createDirectories(dir.resolve("perl")), port);
        Seen ours = scenario(Superdaemon.JAVA, Files.createDirectories(dir.resolve("java")), port);
        assertEquals(contract(perl.first(), dir.resolve("perl")), contract(ours.first(), dir.resolve("java")));
        assertEquals(contract(perl.second(), dir.resolve("perl")), contract(ours.second(), dir.resolve("java")));

        Properties first = ours.first();
        assertEquals(port + "=4;127.0.0.1:" + port + "=5", first.getProperty("env.SERVER_STARTER_PORT"));
        assertEquals("SOCK_DGRAM", first.getProperty("fd.5.type"));
        assertEquals("blue", first.getProperty("env.APP_MODE"));
        assertEquals("  kept  ", first.getProperty("env.SPACED"));
        assertNull(first.getProperty("env..hidden"));
        assertEquals("0", first.getProperty("env.KILL_OLD_DELAY"));
        assertEquals("green", ours.second().getProperty("env.APP_MODE"));
        assertTrue(first.getProperty("cwd").endsWith("/work"));
    }

    @Test
    void ourWorkersGetExactlyTheirSocketsAndACleanSignalState(@TempDir Path dir) throws Exception {
        Properties first = scenario(Superdaemon.JAVA, dir, Ports.freeTcpPort()).first();
        assertEquals("0,1,2,3,4,5", withoutListingFd(first.getProperty("fds")));
        assertEquals("3", first.getProperty("env.SERVER_STARTER_LIFELINE"));
        assertTrue(first.getProperty("fd.3.target").startsWith("pipe:"), first.getProperty("fd.3.target"));
        assertEquals("0000000000000000", first.getProperty("sigblk"));
        // Only PIPE (bit 13) is ignored, as in Perl's workers; python itself ignores XFSZ (bit 25).
        assertEquals(Long.toHexString((1L << 12) | (1L << 24)),
                Long.toHexString(Long.parseLong(first.getProperty("sigign"), 16)));
    }

    /** The worker lists /proc/self/fd with one more fd of its own; it is the one not open at report time. */
    private static String withoutListingFd(String fds) {
        List<String> kept = new ArrayList<>();
        for (String fd : fds.split(",")) {
            if (Integer.parseInt(fd) <= 5) {
                kept.add(fd);
            }
        }
        return String.join(",", kept);
    }
}

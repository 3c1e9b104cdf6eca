package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/**
 * {@code --daemonize}: the foreground command returns 0 at once, the daemon (another pid, in its own session) holds
 * the pid file, keeps the sockets (and the unix socket file) and stops on {@code --stop}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DaemonizeIT {

    static List<Superdaemon> superdaemons() {
        return Superdaemon.available().toList();
    }

    @ParameterizedTest
    @MethodSource("superdaemons")
    void daemonizes(Superdaemon which, @TempDir Path dir) throws Exception {
        int port = Ports.freeTcpPort();
        Path pid = dir.resolve("pid");
        Path log = dir.resolve("log");
        Path sock = dir.resolve("d.sock");
        Reports reports = new Reports(dir);
        long daemon = -1;
        try (StarterProcess foreground = StarterProcess.start(which, Reports.args("--daemonize", "--log-file=" + log,
                "--pid-file=" + pid, "--port=127.0.0.1:" + port, "--path=" + sock),
                Map.of("REPORT_DIR", dir.toString()), dir)) {
            assertEquals(0, foreground.awaitExit(Reports.TIMEOUT));
            Await.until("pid file", Reports.TIMEOUT, () -> Files.exists(pid) && !readPid(pid).isEmpty());
            daemon = Long.parseLong(readPid(pid));
            assertNotEquals(foreground.pid(), daemon);
            Properties first = reports.await(1);
            assertEquals(Long.toString(daemon), first.getProperty("ppid"));
            assertEquals("127.0.0.1:" + port + "=5;" + sock + "=6", first.getProperty("env.SERVER_STARTER_PORT"));
            assertEquals("/dev/null", first.getProperty("fd.0.target"));
            assertTrue(Files.exists(sock), "the foreground half must not remove the socket file");
            String worker = first.getProperty("pid");
            Await.until("an answer from the daemon's worker", Reports.TIMEOUT,
                    () -> StarterIT.ask(new InetSocketAddress("127.0.0.1", port)).equals("1 " + worker));
            assertTrue(Files.readString(log).contains("starting new worker " + worker));

            Process stop = new ProcessBuilder(which.executable().toString(), "--stop", "--pid-file=" + pid)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("stop.log").toFile()).start();
            assertTrue(stop.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, stop.exitValue());
            assertFalse(Files.exists(pid));
            assertFalse(Files.exists(sock));
            daemon = -1;
        } finally {
            if (daemon > 0) {
                new ProcessBuilder("kill", "-KILL", "--", "-" + daemon).start().waitFor();
            }
        }
    }

    private static String readPid(Path pid) {
        try {
            return Files.readString(pid).trim();
        } catch (java.io.IOException e) {
            return "";
        }
    }
}

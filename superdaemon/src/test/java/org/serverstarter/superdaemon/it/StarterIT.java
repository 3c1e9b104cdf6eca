package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SortedMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * The life of a superdaemon, as Perl's t/01-starter.t checks it: serve, restart on HUP, stop on TERM, clean up.
 * Every scenario runs under our start_server and under Perl's.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StarterIT {

    static List<Superdaemon> superdaemons() {
        return Superdaemon.available().toList();
    }

    @ParameterizedTest
    @MethodSource("superdaemons")
    void servesRestartsAndStops(Superdaemon which, @TempDir Path dir) throws Exception {
        int v4 = Ports.freeTcpPort();
        int v6 = Ports.freeTcpPort();
        Path sock = dir.resolve("app.sock");
        Path status = dir.resolve("status");
        Path pid = dir.resolve("pid");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = StarterProcess.start(which, Reports.args("--port=127.0.0.1:" + v4,
                "--port=[::1]:" + v6, "--path=" + sock, "--status-file=" + status, "--pid-file=" + pid),
                Map.of("REPORT_DIR", dir.toString()), dir)) {
            Properties first = reports.await(1);
            long firstPid = Long.parseLong(first.getProperty("pid"));
            assertEquals("127.0.0.1:" + v4 + "=4;[::1]:" + v6 + "=5;" + sock + "=6",
                    first.getProperty("env.SERVER_STARTER_PORT"));
            assertEquals("AF_INET", first.getProperty("fd.4.family"));
            assertEquals("AF_INET6", first.getProperty("fd.5.family"));
            assertEquals("True", first.getProperty("fd.5.v6only"));
            assertEquals("AF_UNIX", first.getProperty("fd.6.family"));
            for (String fd : List.of("4", "5", "6")) {
                assertEquals("True", first.getProperty("fd." + fd + ".listening"), "fd " + fd + " listens");
            }
            assertEquals(Long.toString(starter.pid()), first.getProperty("ppid"));
            assertEquals(starter.pid() + "\n", Files.readString(pid));
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(1L, firstPid)), Reports.TIMEOUT);
            assertTrue(Files.exists(sock));
            assertEquals("1 " + firstPid, ask(new InetSocketAddress("127.0.0.1", v4)));
            assertEquals("1 " + firstPid, ask(new InetSocketAddress("::1", v6)));

            starter.signal("HUP");
            long secondPid = Long.parseLong(reports.await(2).getProperty("pid"));
            SortedMap<Long, Long> after = StatusFile.awaitGenerations(status, g -> g.size() == 1 && g.containsKey(2L),
                    Reports.TIMEOUT);
            assertEquals(Map.of(2L, secondPid), after);
            reports.awaitSignal(firstPid, "SIGTERM");
            starter.awaitOutput("old worker " + firstPid + " died, status:0", Reports.TIMEOUT);
            Await.until("a new connection reaches generation 2", Reports.TIMEOUT,
                    () -> ask(new InetSocketAddress("127.0.0.1", v4)).equals("2 " + secondPid));

            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
            assertEquals(List.of("SIGTERM"), reports.signals(secondPid));
            String out = starter.output();
            assertTrue(out.contains("received TERM, sending TERM to all workers:" + secondPid), out);
            assertTrue(out.contains("worker " + secondPid + " died, status:0"), out);
            assertTrue(out.trim().endsWith("exiting"), out);
            assertFalse(Files.exists(pid), "pid file removed");
            assertFalse(Files.exists(status), "status file removed");
            assertFalse(Files.exists(sock), "socket file removed");
        }
    }

    @ParameterizedTest
    @MethodSource("superdaemons")
    void failedStartsAreRetriedWithTheNextGeneration(Superdaemon which, @TempDir Path dir) {
        Path status = dir.resolve("status");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = StarterProcess.start(which, Reports.args("--interval=1",
                "--status-file=" + status), Map.of("REPORT_DIR", dir.toString(), "FAIL_GENERATIONS", "1,2,4",
                "FAIL_STATUS", "3"), dir)) {
            long third = Long.parseLong(reports.await(3).getProperty("pid"));
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(3L, third)), Reports.TIMEOUT);
            String out = starter.output();
            assertEquals(2, out.split("seems to have failed to start, exit status:768", -1).length - 1, out);

            // Generation 4 fails: generation 3 keeps serving and is retired only when generation 5 is up.
            starter.signal("HUP");
            long fifth = Long.parseLong(reports.await(5).getProperty("pid"));
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(5L, fifth)), Reports.TIMEOUT);
            reports.awaitSignal(third, "SIGTERM");
            assertFalse(reports.exists(4));
        }
    }

    @ParameterizedTest
    @MethodSource("superdaemons")
    void aCrashedWorkerIsRespawned(Superdaemon which, @TempDir Path dir) throws Exception {
        Path status = dir.resolve("status");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = StarterProcess.start(which, Reports.args("--status-file=" + status),
                Map.of("REPORT_DIR", dir.toString()), dir)) {
            long first = Long.parseLong(reports.await(1).getProperty("pid"));
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(1L, first)), Reports.TIMEOUT);
            new ProcessBuilder("kill", "-KILL", Long.toString(first)).start().waitFor();
            starter.awaitOutput("worker " + first + " died unexpectedly with status:9, restarting", Reports.TIMEOUT);
            long second = Long.parseLong(reports.await(2).getProperty("pid"));
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(2L, second)), Reports.TIMEOUT);
        }
    }

    @ParameterizedTest
    @MethodSource("superdaemons")
    void signalOnHupAndSignalOnTermAreSent(Superdaemon which, @TempDir Path dir) {
        Reports reports = new Reports(dir);
        try (StarterProcess starter = StarterProcess.start(which, Reports.args("--signal-on-hup=sigusr1",
                "--signal-on-term=INT"), Map.of("REPORT_DIR", dir.toString()), dir)) {
            long first = Long.parseLong(reports.await(1).getProperty("pid"));
            starter.signal("HUP");
            long second = Long.parseLong(reports.await(2).getProperty("pid"));
            reports.awaitSignal(first, "SIGUSR1");
            starter.awaitOutput("new worker is now running, sending USR1 to old workers:" + first, Reports.TIMEOUT);
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
            assertEquals(List.of("SIGINT"), reports.signals(second));
        }
    }

    @ParameterizedTest
    @MethodSource("superdaemons")
    void intAlwaysSendsTerm(Superdaemon which, @TempDir Path dir) {
        Reports reports = new Reports(dir);
        try (StarterProcess starter = StarterProcess.start(which, Reports.args("--signal-on-term=USR1"),
                Map.of("REPORT_DIR", dir.toString()), dir)) {
            long first = Long.parseLong(reports.await(1).getProperty("pid"));
            starter.signal("INT");
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
            assertEquals(List.of("SIGTERM"), reports.signals(first));
            assertTrue(starter.output().contains("received INT, sending TERM to all workers:" + first));
        }
    }

    static String ask(InetSocketAddress address) {
        try (Socket s = new Socket()) {
            s.connect(address, 5000);
            s.setSoTimeout(5000);
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine();
        } catch (IOException e) {
            return "error: " + e;
        }
    }
}

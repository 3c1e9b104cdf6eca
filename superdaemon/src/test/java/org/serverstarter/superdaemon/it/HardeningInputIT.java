package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/**
 * Bad input gets one line and a documented status, never a stack trace; absurd numbers cannot make start_server spin;
 * a logger that exits takes nothing down (issue 12, items 11, 12 and 14).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HardeningInputIT {
    @TempDir
    Path dir;

    @Test
    void aStatusFileGenerationBeyondALongIsOneLine() throws Exception {
        Path pid = Files.writeString(dir.resolve("pid"), "12345\n");
        Path status = Files.writeString(dir.resolve("status"), "99999999999999999999:1\n");
        OneShot restart = OneShot.run(dir, Map.of(), "--restart", "--pid-file=" + pid, "--status-file=" + status);
        assertEquals(255, restart.status(), restart.output());
        assertEquals("invalid generation in " + status + ":99999999999999999999:1", restart.output().strip());
    }

    @Test
    void listenFdsBeyondReasonIsOneLine() throws Exception {
        String port = "--port=127.0.0.1:" + Ports.freeTcpPort();
        OneShot listenFds = OneShot.run(dir, Map.of(), List.of("sh", "-c",
                "LISTEN_PID=$$ LISTEN_FDS=100000000 exec \"$0\" \"$@\""), "--", "true");
        assertEquals(255, listenFds.status(), listenFds.output());
        assertEquals("invalid LISTEN_FDS value:100000000", listenFds.output().strip());
    }

    @Test
    void aFileNameTheLocaleCannotEncodeIsOneLine() throws Exception {
        String port = "--port=127.0.0.1:" + Ports.freeTcpPort();
        OneShot nonAscii = OneShot.run(dir, Map.of("LC_ALL", "C"), port, "--status-file=" + dir.resolve("stätus"),
                "--", "true");
        assertEquals(255, nonAscii.status(), nonAscii.output());
        assertTrue(nonAscii.isOneCleanLine() && nonAscii.output().startsWith("invalid file name:"),
                nonAscii.output());
    }

    @Test
    void aMalformedDaemonHandoffIsOneLineAndLeavesNothing() throws Exception {
        String port = "--port=127.0.0.1:" + Ports.freeTcpPort();
        OneShot handoff = OneShot.run(dir, Map.of("SERVER_STARTER_JVM_DAEMON_FDS", "4,x"), port, "--", "true");
        assertEquals(255, handoff.status(), handoff.output());
        assertEquals("invalid SERVER_STARTER_JVM_DAEMON_FDS value:4,x", handoff.output().strip());
        try (var left = Files.list(dir)) {
            assertEquals(List.of(), left.toList());
        }
    }

    @Test
    void negativeDurationsAreRefused() throws Exception {
        for (String option : List.of("--interval=-5", "--kill-old-delay=-1", "--auto-restart-interval=-1",
                "--ready-timeout=-1", "--kill-timeout=-1", "--max-backoff=-1")) {
            OneShot refused = OneShot.run(dir, Map.of(), Reports.args(option).toArray(String[]::new));
            assertEquals(255, refused.status(), option + ": " + refused.output());
            assertEquals("invalid " + option.replace("=", " value:") + " (0 or more seconds)",
                    refused.output().strip());
        }
        OneShot timeout = OneShot.run(dir, Map.of(), "--stop", "--pid-file=x", "--timeout=-3");
        assertEquals(255, timeout.status(), timeout.output());
    }

    @Test
    void aHugeIntervalIsLongNotZero() throws Exception {
        // 1e20 seconds once overflowed to 0: a program that fails at once was respawned every few milliseconds.
        // Now it is a very long interval: one attempt, then TERM ends the wait.
        String everyGeneration = String.join(",", java.util.stream.IntStream.rangeClosed(1, 2000)
                .mapToObj(Integer::toString).toList());
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, Reports.args(
                "--interval=99999999999999999999", "--kill-timeout=99999999999999999999"),
                Map.of("REPORT_DIR", dir.toString(), "FAIL_GENERATIONS", everyGeneration), dir)) {
            starter.awaitOutput("^starting new worker", Reports.TIMEOUT);
            assertNotWithin(starter, "(?s)starting new worker.*starting new worker");
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
            assertEquals(1, starter.output().lines().filter(l -> l.startsWith("starting new worker")).count(),
                    starter.output());
        }
    }

    @Test
    void aHugeAutoRestartIntervalNeverFires() throws Exception {
        // Twice 1e20 seconds once overflowed to a negative number: a forced restart on every loop.
        Path status = dir.resolve("status");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, Reports.args("--enable-auto-restart",
                "--auto-restart-interval=99999999999999999999", "--status-file=" + status),
                Map.of("REPORT_DIR", dir.toString()), dir)) {
            reports.await(1);
            org.serverstarter.testkit.StatusFile.awaitGenerations(status, g -> g.containsKey(1L), Reports.TIMEOUT);
            assertNotWithin(starter, "autorestart triggered");
        }
    }

    /**
     * What must not happen: a broken start_server does it within milliseconds (it once respawned 100 workers a
     * second), so a few seconds without it are the proof.
     */
    private static void assertNotWithin(StarterProcess starter, String regex) {
        java.util.regex.Pattern pattern = java.util.regex.Pattern.compile(regex, java.util.regex.Pattern.MULTILINE);
        assertThrows(AssertionError.class, () -> Await.until("/" + regex + "/", java.time.Duration.ofSeconds(3),
                () -> pattern.matcher(starter.output()).find()), starter::output);
    }

    @Test
    void aHugeReadyTimeoutIsLongNotZero() throws Exception {
        ReadyWorkers workers = new ReadyWorkers(dir);
        try (StarterProcess starter = workers.start(Map.of("READY_DELAY", "0.5"), "--readiness=notify",
                "--ready-timeout=99999999999999999999")) {
            long first = workers.pidOf(1);
            starter.awaitOutput("^new worker " + first + " is ready$", Reports.TIMEOUT);
        }
    }

    @Test
    void aLoggerThatExitsIsStartedAgainAndWorkersKeepWriting() throws Exception {
        Path log = dir.resolve("log");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, Reports.args(
                "--log-file=| exec cat >> " + log), Map.of("REPORT_DIR", dir.toString(), "PRINT_EVERY", "0.05"),
                dir)) {
            long worker = Long.parseLong(reports.await(1).getProperty("pid"));
            Await.until("the worker's output in the log", Reports.TIMEOUT, () -> read(log).contains("tick 1 "));
            long logger = loggerOf(starter.pid(), worker);
            assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(logger)).start().waitFor());
            // Said where start_server's stderr went before the log took it over, and in the log itself.
            starter.awaitOutput("^log command " + logger + " exited, status:15, started it again as \\d+$",
                    Reports.TIMEOUT);
            Await.until("the line in the new logger's log", Reports.TIMEOUT,
                    () -> read(log).contains("log command " + logger + " exited"));
            int before = read(log).length();
            Await.until("the worker writing on", Reports.TIMEOUT, () -> read(log).indexOf("tick 1 " + worker,
                    before) > 0);
            starter.signal("HUP");
            Await.until("the restart in the log", Reports.TIMEOUT,
                    () -> read(log).contains("received HUP, spawning a new worker"));
            assertFalse(read(log).contains("died unexpectedly"), read(log));
        }
    }

    @Test
    void aLoggerThatKeepsExitingIsGivenUpWithOneLine() throws Exception {
        Reports reports = new Reports(dir);
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, Reports.args("--log-file=| exit 3"),
                Map.of("REPORT_DIR", dir.toString(), "PRINT_EVERY", "0.05"), dir)) {
            long worker = Long.parseLong(reports.await(1).getProperty("pid"));
            starter.awaitOutput("it exited 3 times within a second of its start; the log is discarded from now on$",
                    Reports.TIMEOUT);
            starter.signal("HUP");
            reports.await(2);
            assertFalse(starter.output().contains("died unexpectedly"), starter.output());
            assertTrue(worker > 0);
        }
    }

    /** The {@code sh -c} child of start_server that is not the worker. */
    private static long loggerOf(long starter, long worker) {
        return ProcessHandle.of(starter).orElseThrow().children().mapToLong(ProcessHandle::pid)
                .filter(pid -> pid != worker).findFirst().orElseThrow();
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (java.io.IOException e) {
            return "";
        }
    }
}

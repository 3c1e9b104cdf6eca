package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Exited;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;

/**
 * {@code start_server --status} and {@code --metrics} against real processes: the JSON is read by python3's json
 * module and the metrics by the Prometheus client library's own text-format parser (Debian's
 * python3-prometheus-client), so neither is checked only by the code that wrote it.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StatusIT {
    /** Reads the status JSON on stdin and prints one line per expression ({@code d} is the document). */
    private static final String JSON_QUERY = "import json,sys; d=json.load(sys.stdin); "
            + "[print(json.dumps(eval(e))) for e in sys.argv[1:]]";
    /** Fetches /metrics and prints every sample as {@code name{k=v,...} value}, labels sorted. */
    private static final String SCRAPE = "import sys,urllib.request; "
            + "from prometheus_client.parser import text_string_to_metric_families as parse; "
            + "r=urllib.request.urlopen(sys.argv[1]); "
            + "assert r.headers['Content-Type'].startswith('text/plain; version=0.0.4'), r.headers['Content-Type']; "
            + "[print(s.name + '{' + ','.join(k + '=' + v for k, v in sorted(s.labels.items())) + '} ' + repr(s.value)) "
            + "for f in parse(r.read().decode()) for s in f.samples]";

    @TempDir
    Path dir;

    private ReadyWorkers workers;
    private Path pidFile;
    private Path statusFile;

    @BeforeEach
    void files() {
        workers = new ReadyWorkers(dir);
        pidFile = dir.resolve("pid");
        statusFile = dir.resolve("status");
    }

    private StarterProcess start(Map<String, String> env, String... options) {
        List<String> all = new ArrayList<>(List.of("--readiness=notify", "--pid-file=" + pidFile,
                "--status-file=" + statusFile));
        all.addAll(List.of(options));
        return workers.start(env, all.toArray(String[]::new));
    }

    /** {@code start_server --status} with {@code more}; its exit status and output. */
    private OneShot status(String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("--status", "--pid-file=" + pidFile));
        args.addAll(List.of(more));
        return OneShot.run(dir, Map.of(), args.toArray(String[]::new));
    }

    /** The status document's values for each Python expression over it ({@code d}), as JSON text. */
    private List<String> query(String json, String... expressions) throws Exception {
        List<String> argv = new ArrayList<>(List.of(Reports.SYSTEM_PYTHON, "-c", JSON_QUERY));
        argv.addAll(List.of(expressions));
        Path input = Files.writeString(Files.createTempFile(dir, "status-", ".json"), json);
        Exited out = Exited.run(new ProcessBuilder(argv).redirectInput(input.toFile()), Reports.TIMEOUT);
        assertEquals(0, out.status(), json + "\n" + out.output());
        return out.output().lines().toList();
    }

    /** The values of a --status JSON, asked for until they are {@code expected} (the loop publishes as it goes). */
    private String awaitStatus(List<String> expected, String... expressions) throws Exception {
        String[] last = {""};
        List<String>[] seen = new List[] {List.of()};
        try {
            Await.until("--status to show " + expected, Reports.TIMEOUT, () -> {
                try {
                    OneShot s = status();
                    if (s.status() != 0) {
                        return false;
                    }
                    last[0] = s.output();
                    seen[0] = query(last[0], expressions);
                    return seen[0].equals(expected);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; last seen " + seen[0] + " in " + last[0], e);
        }
        return last[0];
    }

    /** Every sample at {@code url}, parsed by prometheus_client, as {@code name{labels} value} lines. */
    private static List<String> scrape(String url) throws Exception {
        Exited out = Exited.run(new ProcessBuilder(Reports.SYSTEM_PYTHON, "-c", SCRAPE, url), Reports.TIMEOUT);
        assertEquals(0, out.status(), out.output());
        return out.output().lines().toList();
    }

    private static String metricsUrl(StarterProcess starter) {
        starter.awaitOutput("^metrics on http://\\S+/metrics$", Reports.TIMEOUT);
        Matcher m = Pattern.compile("^metrics on (http://\\S+/metrics)$", Pattern.MULTILINE).matcher(starter.output());
        assertTrue(m.find());
        return m.group(1);
    }

    @Test
    void steadyStateThenASlowReadinessGatedRestart() throws Exception {
        // Generation 2 says READY=1 3 s after it starts; generation 1 at once.
        try (StarterProcess starter = start(Map.of("READY_DELAY", "0.1", "READY_DELAYS", "2:3"),
                "--metrics=127.0.0.1:0")) {
            long first = workers.pidOf(1);
            String url = metricsUrl(starter);
            StatusFile.awaitGenerations(statusFile, g -> g.equals(Map.of(1L, first)), Reports.TIMEOUT);
            String steady = awaitStatus(List.of("\"running\""), "d['state']");
            assertEquals(List.of("1", Long.toString(starter.pid()), "1", "[[" + first + ", 1, \"current\", null]]",
                    "[]", "0", "0", "null", "true", "\"" + System.getProperty("java.version") + "\""),
                    query(steady, "d['schema']", "d['pid']", "d['current_generation']",
                            "[[w['pid'], w['generation'], w['role'], w['signalled_at']] for w in d['workers']]",
                            "d['listeners']", "d['counters']['restarts_asked']", "d['counters']['kills_sent']",
                            "d['last_restart']", "d['started_at'].endswith('Z')", "d['java']['version']"));

            starter.signal("HUP");
            long second = workers.pidOf(2);
            String during = awaitStatus(List.of("\"restarting\"", "\"in_progress\""), "d['state']",
                    "d['last_restart']['outcome']");
            assertEquals(List.of("[[" + first + ", 1, \"current\"], [" + second + ", 2, \"starting\"]]", "1", "1",
                    "0"), query(during, "[[w['pid'], w['generation'], w['role']] for w in d['workers']]",
                    "d['current_generation']", "d['counters']['restarts_asked']", "d['counters']['restarts_done']"));
            assertTrue(scrape(url).containsAll(List.of("start_server_state{state=restarting} 1.0",
                    "start_server_workers{role=starting} 1.0", "start_server_restarts_asked_total{} 1.0")));

            StatusFile.awaitGenerations(statusFile, g -> g.equals(Map.of(2L, second)), Reports.TIMEOUT);
            String after = awaitStatus(List.of("\"running\"", "[" + second + "]"), "d['state']",
                    "[w['pid'] for w in d['workers']]");
            List<String> last = query(after, "d['last_restart']['outcome']", "d['last_restart']['trigger']",
                    "d['last_restart']['generation']", "d['counters']['restarts_done']",
                    "d['last_restart']['hup_to_ready_ms']");
            assertEquals(List.of("\"done\"", "\"HUP\"", "2", "1"), last.subList(0, 4));
            long readyMillis = Long.parseLong(last.get(4));
            // Not a timing assertion: generation 2 sleeps 3 s after the HUP before it says READY=1.
            assertTrue(readyMillis >= 3000, "HUP to ready: " + readyMillis + " ms");

            List<String> metrics = scrape(url);
            assertTrue(metrics.containsAll(List.of("start_server_state{state=running} 1.0",
                    "start_server_current_generation{} 2.0", "start_server_workers{role=current} 1.0",
                    "start_server_workers{role=old} 0.0", "start_server_restarts_done_total{} 1.0",
                    "start_server_failed_starts_total{reason=exited_early} 0.0",
                    "start_server_restart_duration_seconds_count{} 1.0",
                    "start_server_restart_duration_seconds_bucket{le=+Inf} 1.0",
                    "start_server_restart_duration_seconds_bucket{le=2.5} 0.0",
                    "start_server_last_restart_duration_seconds{} " + readyMillis / 1000.0)), String.join("\n",
                    metrics));

            OneShot text = status("--format=text");
            assertEquals(0, text.status(), text.output());
            assertTrue(text.output().contains("state:     running, generation 2 serves"), text.output());
            assertTrue(text.output().contains("last restart: done (HUP at "), text.output());
        }
    }

    @Test
    void afterAFailedStartAndAReadinessTimeout() throws Exception {
        // After the HUP: generation 2 exits at once, 3 never says READY=1, 4 is ready.
        try (StarterProcess starter = start(Map.of("FAIL_GENERATIONS", "2", "SILENT_GENERATIONS", "3",
                "READY_DELAY", "0.1"), "--ready-timeout=2", "--metrics=127.0.0.1:0")) {
            long first = workers.pidOf(1);
            String url = metricsUrl(starter);
            StatusFile.awaitGenerations(statusFile, g -> g.equals(Map.of(1L, first)), Reports.TIMEOUT);
            starter.signal("HUP");
            starter.awaitOutput("new worker " + workers.pidOf(2) + " seems to have failed to start", Reports.TIMEOUT);
            awaitStatus(List.of("\"restarting\"", "1", "0"), "d['state']",
                    "d['counters']['failed_starts']['exited_early']", "d['counters']['failed_starts']['timed_out']");

            long third = workers.pidOf(3);
            starter.awaitOutput("new worker " + third + " did not send READY=1 within 2 secs", Reports.TIMEOUT);
            awaitStatus(List.of("1", "1"), "d['counters']['failed_starts']['exited_early']",
                    "d['counters']['failed_starts']['timed_out']");

            long fourth = workers.pidOf(4);
            StatusFile.awaitGenerations(statusFile, g -> g.equals(Map.of(4L, fourth)), Reports.TIMEOUT);
            String after = awaitStatus(List.of("\"running\"", "[" + fourth + "]"), "d['state']",
                    "[w['pid'] for w in d['workers']]");
            assertEquals(List.of("\"done\"", "4", "2", "1", "1", "0"), query(after, "d['last_restart']['outcome']",
                    "d['last_restart']['generation']", "d['last_restart']['failed_attempts']",
                    "d['counters']['failed_starts']['exited_early']", "d['counters']['failed_starts']['timed_out']",
                    "d['counters']['failed_starts']['exec_failed']"));
            assertTrue(scrape(url).containsAll(List.of("start_server_failed_starts_total{reason=exited_early} 1.0",
                    "start_server_failed_starts_total{reason=timed_out} 1.0",
                    "start_server_restarts_done_total{} 1.0")));
        }
    }

    @Test
    void clientsThatConnectAndNeitherSendNorReadHoldNothingUp() throws Exception {
        try (StarterProcess starter = start(Map.of("READY_DELAY", "0.1"))) {
            long first = workers.pidOf(1);
            StatusFile.awaitGenerations(statusFile, g -> g.equals(Map.of(1L, first)), Reports.TIMEOUT);
            String name = "\\0server-starter/" + starter.pid() + "/"
                    + Files.getAttribute(pidFile, "unix:ino", LinkOption.NOFOLLOW_LINKS) + "/status";
            List<Process> idle = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    // Connects, says so, then sits there without sending or reading anything until it is killed.
                    Process p = new ProcessBuilder(Reports.SYSTEM_PYTHON, "-c", "import socket,sys,time; "
                            + "s=socket.socket(socket.AF_UNIX); s.connect('" + name + "'); "
                            + "print('connected', flush=True); time.sleep(600)").redirectErrorStream(true).start();
                    idle.add(p);
                    String said = new String(p.getInputStream().readNBytes("connected".length()),
                            StandardCharsets.UTF_8);
                    assertEquals("connected", said);
                }
                OneShot answer = status();
                assertEquals(0, answer.status(), answer.output());
                assertEquals(List.of("\"running\""), query(answer.output(), "d['state']"));

                starter.signal("HUP");
                long second = workers.pidOf(2);
                StatusFile.awaitGenerations(statusFile, g -> g.equals(Map.of(2L, second)), Reports.TIMEOUT);
                awaitStatus(List.of("[" + second + "]"), "[w['pid'] for w in d['workers']]");
            } finally {
                idle.forEach(Process::destroyForcibly);
            }
        }
    }

    @Test
    void withoutARunningStartServerItIsExit3AndOneLine() throws Exception {
        OneShot missing = status();
        assertEquals(3, missing.status(), missing.output());
        assertEquals("no start_server runs from " + pidFile + " (no such file)", missing.output().strip());

        Files.writeString(pidFile, ProcessHandle.current().pid() + "\n"); // a live pid, but nobody holds the lock
        OneShot stale = status("--format=text");
        assertEquals(3, stale.status(), stale.output());
        assertEquals("no start_server runs from " + pidFile + " (no start_server holds its lock)",
                stale.output().strip());

        OneShot noPidFile = OneShot.run(dir, Map.of(), "--status");
        assertEquals(255, noPidFile.status(), noPidFile.output());
        assertEquals("--status option requires --pid-file to be set as well", noPidFile.output().strip());

        OneShot badFormat = status("--format=yaml");
        assertEquals(255, badFormat.status());
        assertTrue(badFormat.isOneCleanLine(), badFormat.output());
    }

    @Test
    void anotherUserGetsNothing() throws Exception {
        // The pid file is readable by all, so that the other user gets as far as the socket.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (StarterProcess starter = start(Map.of("READY_DELAY", "0.1"))) {
            long first = workers.pidOf(1);
            StatusFile.awaitGenerations(statusFile, g -> g.equals(Map.of(1L, first)), Reports.TIMEOUT);
            Files.setPosixFilePermissions(pidFile, PosixFilePermissions.fromString("rw-r--r--"));
            List<String> nobody = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");

            OneShot refused = OneShot.run(dir, Map.of(), nobody, "--status", "--pid-file=" + pidFile);
            assertEquals(13, refused.status(), refused.output());
            assertEquals("start_server (pid " + starter.pid() + ") refused the status request (it answers its own"
                    + " user and root only)", refused.output().strip());

            // Straight to the socket, without our client: not one byte.
            String name = "\\0server-starter/" + starter.pid() + "/"
                    + Files.getAttribute(pidFile, "unix:ino", LinkOption.NOFOLLOW_LINKS) + "/status";
            List<String> raw = new ArrayList<>(nobody);
            raw.addAll(List.of(Reports.SYSTEM_PYTHON, "-c", "import socket; s=socket.socket(socket.AF_UNIX); "
                    + "s.connect('" + name + "'); print(len(s.recv(65536)))"));
            Exited read = Exited.run(new ProcessBuilder(raw), Reports.TIMEOUT);
            assertEquals(new Exited(0, "0\n"), read);

            assertEquals(0, status().status(), "its own user still gets it");
        }
    }

    @Test
    void aMetricsPortInUseStopsTheStartWithOneLineAndLeavesNothing() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String spec = "127.0.0.1:" + taken.getLocalPort();
            Path sock = dir.resolve("app.sock");
            OneShot failed = OneShot.run(dir, Map.of("REPORT_DIR", dir.toString()), Reports.args("--path=" + sock,
                    "--pid-file=" + pidFile, "--metrics=" + spec).toArray(String[]::new));
            assertEquals(98, failed.status(), failed.output());
            assertEquals("failed to listen on --metrics " + spec + ":Address already in use",
                    failed.output().lines().filter(l -> !l.startsWith("start_server (pid:")).findFirst().orElse(""));
            assertTrue(Files.notExists(pidFile) && Files.notExists(sock), "nothing left behind");
            assertTrue(Files.notExists(dir.resolve("report-1.properties")), "no worker started");
        }
    }

    @Test
    void onlyGetOfMetricsIsServed() throws Exception {
        try (StarterProcess starter = start(Map.of("READY_DELAY", "0.1"), "--metrics=127.0.0.1:0")) {
            String url = metricsUrl(starter);
            var client = java.net.http.HttpClient.newHttpClient();
            var other = client.send(java.net.http.HttpRequest.newBuilder(URI.create(url.replace("/metrics", "/")))
                    .timeout(Duration.ofSeconds(30)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(404, other.statusCode());
            var post = client.send(java.net.http.HttpRequest.newBuilder(URI.create(url))
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("x")).timeout(Duration.ofSeconds(30))
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(405, post.statusCode());
        }
    }
}

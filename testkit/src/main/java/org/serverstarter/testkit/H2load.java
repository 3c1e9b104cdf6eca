package org.serverstarter.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * h2load (Debian's {@code nghttp2-client}) keeping HTTP/2 connections busy across a restart. h2load never opens a new
 * connection once its connection was told GOAWAY, so it is given more requests than it can send before the restart:
 * the drain, not the count, ends each connection, and h2load ends when every one has been drained. Its per-request log
 * then holds every request it wrote, each of which must have been answered with a 2xx. Requests it had submitted but
 * not yet written when the GOAWAY came are never sent, which is no failure (h2load's own "failed" and "errored" count
 * them, with every request of its {@code -n} it did not send).
 */
public final class H2load implements AutoCloseable {
    private static final Path EXECUTABLE = Path.of("/usr/bin/h2load");
    private static final Pattern SUMMARY = Pattern.compile("requests: \\d+ total, \\d+ started, \\d+ done, \\d+ "
            + "succeeded, \\d+ failed, \\d+ errored, (\\d+) timeout");
    private static final Pattern STATUSES = Pattern.compile("status codes: \\d+ 2xx, (\\d+) 3xx, (\\d+) 4xx, (\\d+) 5xx");

    private final Process process;
    private final int clients;
    private final Path out;
    private final Path log;

    private H2load(Process process, int clients, Path out, Path log) {
        this.process = process;
        this.clients = clients;
        this.out = out;
        this.log = log;
    }

    public static boolean isInstalled() {
        return Files.isExecutable(EXECUTABLE);
    }

    /** Starts {@code clients} connections to {@code url} with {@code streams} streams each; its files go in {@code dir}. */
    public static H2load start(String url, int clients, int streams, Path dir) throws IOException {
        Path out = Files.createTempFile(dir, "h2load", ".out");
        Path log = Files.createTempFile(dir, "h2load", ".log");
        Process process = new ProcessBuilder(EXECUTABLE.toString(), "-c", Integer.toString(clients), "-m",
                Integer.toString(streams), "-n", "4000000", "--log-file", log.toString(), url)
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        return new H2load(process, clients, out, log);
    }

    /**
     * Waits for h2load to end, at most {@code timeout}, and checks that every connection was ended by a GOAWAY and
     * every request written was answered with a 2xx, none timing out.
     *
     * @return the one-line account, e.g. "30012 requests answered with a 2xx, 4 not sent after GOAWAY"
     * @throws AssertionError when it did not end in time, or a check failed; with h2load's output
     */
    public String awaitEveryRequestAnswered(Duration timeout) throws IOException, InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("h2load still running after " + timeout + "; a connection was never told "
                    + "GOAWAY:\n" + Files.readString(out));
        }
        String output = Files.readString(out);
        Matcher summary = SUMMARY.matcher(output);
        Matcher statuses = STATUSES.matcher(output);
        if (!summary.find() || !statuses.find()) {
            throw new AssertionError("h2load printed no summary:\n" + output);
        }
        long goAways = output.lines().filter(line -> line.startsWith("Process Request Failure")).count();
        if (goAways != clients) {
            throw new AssertionError(goAways + " of " + clients + " connections ended by a GOAWAY:\n" + output);
        }
        long answered = 0;
        long unsent = 0;
        List<String> unanswered = new ArrayList<>();
        // One line per request that ended: start time in us, status, duration in us. Status -1 is no response: with a
        // start time the request was written and its stream closed unanswered; with 0 it was never written.
        for (String line : Files.readAllLines(log)) {
            String[] fields = line.split("\t");
            long sent = Long.parseLong(fields[0]);
            int status = Integer.parseInt(fields[1]);
            if (status >= 200 && status < 300) {
                answered++;
            } else if (status < 0 && sent == 0) {
                unsent++;
            } else {
                unanswered.add(line);
            }
        }
        String counts = statuses.group(1) + " " + statuses.group(2) + " " + statuses.group(3);
        if (answered == 0 || !unanswered.isEmpty() || !counts.equals("0 0 0") || !summary.group(1).equals("0")) {
            throw new AssertionError(answered + " requests answered with a 2xx; written and not answered so ("
                    + unanswered.size() + "): " + unanswered.subList(0, Math.min(20, unanswered.size()))
                    + "; 3xx 4xx 5xx: " + counts + "; timeouts: " + summary.group(1) + "\n" + output);
        }
        return answered + " requests answered with a 2xx, " + unsent + " not sent after GOAWAY";
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}

package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * {@code --metrics=HOST:PORT}: the {@link Status} in Prometheus's text format (0.0.4) at {@code GET /metrics}, from
 * the JDK's own HTTP server, so the superdaemon gains no dependency. The server's dispatcher thread renders the
 * latest published snapshot; it never touches the supervisor's state, so a slow scraper can hold up only other
 * scrapers, never the loop. docs/status.md lists the metrics.
 */
final class Metrics {
    private static final int EADDRINUSE = 98;
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer server;

    private Metrics(HttpServer server) {
        this.server = server;
    }

    /**
     * Checks that {@code address} can be bound, for a foreground that is about to daemonize: the error must reach
     * the terminal, while the daemon serves. Nothing stays bound.
     */
    static void checkBindable(InetSocketAddress address, String spec) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(address);
        } catch (IOException e) {
            throw failure(e, spec);
        }
    }

    static Metrics start(InetSocketAddress address, String spec, Supplier<Status> status) {
        HttpServer server;
        try {
            server = HttpServer.create(address, 16);
        } catch (IOException e) {
            throw failure(e, spec);
        }
        server.createContext("/", exchange -> answer(exchange, status));
        server.setExecutor(null); // the dispatcher thread answers: one thread, and a scrape is a few kilobytes
        server.start();
        return new Metrics(server);
    }

    private static Fatal failure(IOException e, String spec) {
        return new Fatal("failed to listen on --metrics " + spec + ":" + e.getMessage(),
                e instanceof BindException && String.valueOf(e.getMessage()).contains("in use") ? EADDRINUSE
                        : Fatal.NO_ERRNO);
    }

    /** Where it listens, as {@code HOST:PORT} (the port the kernel chose for port 0). */
    String address() {
        InetSocketAddress bound = server.getAddress();
        String host = bound.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + bound.getPort();
    }

    private static void answer(HttpExchange exchange, Supplier<Status> status) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            if (!exchange.getRequestURI().getPath().equals("/metrics")) {
                reply(exchange, 404, "text/plain; charset=utf-8", "only /metrics is here\n", true);
            } else if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                reply(exchange, 405, "text/plain; charset=utf-8", "GET or HEAD\n", true);
            } else {
                reply(exchange, 200, CONTENT_TYPE, render(status.get()), method.equals("GET"));
            }
        }
    }

    private static void reply(HttpExchange exchange, int code, String type, String body, boolean withBody)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(code, withBody ? bytes.length : -1);
        if (withBody) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** The exposition, Prometheus text format 0.0.4. */
    static String render(Status status) {
        Text out = new Text();
        out.family("start_server_info", "gauge", "start_server's release and the JDK it runs on.");
        out.sample("start_server_info{version=" + label(status.version()) + ",java_version="
                + label(status.javaVersion()) + ",java_vendor=" + label(status.javaVendor()) + "}", "1");
        out.family("start_server_start_time_seconds", "gauge", "When start_server started, in seconds since the epoch.");
        out.sample("start_server_start_time_seconds", seconds(status.startedAtMillis()));
        out.family("start_server_state", "gauge", "1 for start_server's state, 0 for the others.");
        for (Status.State state : Status.State.values()) {
            out.sample("start_server_state{state=\"" + state.label() + "\"}", state == status.state() ? "1" : "0");
        }
        out.family("start_server_current_generation", "gauge", "The generation that serves, 0 before the first.");
        out.sample("start_server_current_generation", Long.toString(status.currentGeneration()));
        out.family("start_server_workers", "gauge", "Workers by role: current (serves), starting, old (signalled).");
        for (Status.Role role : Status.Role.values()) {
            out.sample("start_server_workers{role=\"" + role.label() + "\"}", Long.toString(status.count(role)));
        }
        Status.Counters c = status.counters();
        counter(out, "start_server_restarts_asked_total", "Restarts asked for: HUPs and auto-restarts.",
                c.restartsAsked());
        counter(out, "start_server_restarts_done_total", "Restarts whose new generation counted as started.",
                c.restartsDone());
        out.family("start_server_failed_starts_total", "counter", "New workers that failed to start, by reason.");
        out.sample("start_server_failed_starts_total{reason=\"exited_early\"}", Long.toString(c.exitedEarly()));
        out.sample("start_server_failed_starts_total{reason=\"timed_out\"}", Long.toString(c.timedOut()));
        out.sample("start_server_failed_starts_total{reason=\"exec_failed\"}", Long.toString(c.execFailed()));
        counter(out, "start_server_workers_died_unexpectedly_total",
                "Current workers that exited on their own and were started again.", c.diedUnexpectedly());
        counter(out, "start_server_kills_sent_total", "KILLs sent by --kill-timeout.", c.killsSent());
        Status.LastRestart last = status.lastRestart();
        if (last != null && last.readyMillis() >= 0) {
            out.family("start_server_last_restart_duration_seconds", "gauge",
                    "The last restart's time from HUP to the new generation counting as started.");
            out.sample("start_server_last_restart_duration_seconds", seconds(last.readyMillis()));
        }
        out.family("start_server_restart_duration_seconds", "histogram",
                "Restarts by their time from HUP to the new generation counting as started.");
        List<Double> bounds = Status.Counters.READY_BUCKETS_SECONDS;
        long cumulative = 0;
        for (int i = 0; i <= bounds.size(); i++) {
            cumulative += c.readyBuckets().get(i);
            String le = i < bounds.size() ? bounds.get(i).toString() : "+Inf";
            out.sample("start_server_restart_duration_seconds_bucket{le=\"" + le + "\"}", Long.toString(cumulative));
        }
        out.sample("start_server_restart_duration_seconds_sum", seconds(c.readyMillisSum()));
        out.sample("start_server_restart_duration_seconds_count", Long.toString(c.restartsDone()));
        return out.text();
    }

    private static void counter(Text out, String name, String help, long value) {
        out.family(name, "counter", help);
        out.sample(name, Long.toString(value));
    }

    private static String seconds(long millis) {
        return BigDecimal.valueOf(millis, 3).toPlainString();
    }

    /** A label value in quotes, escaped as the format wants. */
    private static String label(String value) {
        String v = value == null ? "" : value;
        return "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }

    private static final class Text {
        private final StringBuilder out = new StringBuilder();

        void family(String name, String type, String help) {
            out.append("# HELP ").append(name).append(' ').append(help).append('\n');
            out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        }

        void sample(String nameAndLabels, String value) {
            out.append(nameAndLabels).append(' ').append(value).append('\n');
        }

        String text() {
            return out.toString();
        }
    }
}

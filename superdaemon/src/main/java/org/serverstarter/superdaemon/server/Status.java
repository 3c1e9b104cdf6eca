package org.serverstarter.superdaemon.server;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * What start_server is doing, as the {@link Supervisor} last published it: immutable, so that the status socket's and
 * the metrics server's threads read it without a lock and never wait for the loop. docs/status.md documents every
 * field of {@link #toJson()}; changing a field's meaning or removing one means a new {@link #SCHEMA}.
 *
 * @param version start_server's release (the jar's {@code Implementation-Version}), "dev" outside a jar
 * @param metrics where {@code --metrics} serves ({@code HOST:PORT}), or null
 */
record Status(long pid, String version, long startedAtMillis, String javaVersion, String javaVendor,
              String javaHome, State state, String serverStarterPort, List<Worker> workers, Counters counters,
              LastRestart lastRestart, String metrics, long imageStartedAtMillis, LastUpgrade lastUpgrade) {

    /** The version of the JSON document's layout (docs/status.md). */
    static final int SCHEMA = 1;

    Status {
        workers = List.copyOf(workers);
    }

    enum State {
        /** The first generation has not counted as started yet. */
        STARTING,
        /** A generation serves and nothing is being replaced. */
        RUNNING,
        /** A new generation is being started: after a HUP, the auto-restart timer, or the current one's death. */
        RESTARTING,
        /** TERM or INT: every worker has been signalled, start_server exits once they are gone. */
        STOPPING;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    enum Role {
        /** The generation that serves (while a restart is under way, the one being replaced, until it is signalled). */
        CURRENT,
        /** A new generation that has not counted as started yet. */
        STARTING,
        /** Signalled to stop (a replaced generation, a new one that missed its deadline, all of them on shutdown). */
        OLD;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** @param signalledAtMillis when it was sent its signal, 0 while it has not been */
    record Worker(long pid, long generation, Role role, long startedAtMillis, long signalledAtMillis) {
    }

    /**
     * The last restart asked for (HUP or the auto-restart timer).
     *
     * @param outcome        {@code in_progress}, {@code done} (a new generation counted as started) or
     *                       {@code interrupted} (TERM or INT came first)
     * @param readyMillis    from the HUP to the new generation counting as started; -1 unless done
     * @param failedAttempts new workers that failed (exited, timed out, could not be executed) before one started,
     *                       so far while in progress
     */
    record LastRestart(String trigger, String outcome, long askedAtMillis, long finishedAtMillis, long readyMillis,
                       long generation, long failedAttempts) {
        LastRestart withFailedAttempts(long failed) {
            return new LastRestart(trigger, outcome, askedAtMillis, finishedAtMillis, readyMillis, generation, failed);
        }
    }

    /**
     * The last {@code start_server --upgrade}, as the image that now runs knows it.
     *
     * @param outcome {@code done} (this image replaced the one before) or {@code refused} (the new one could not
     *                start; this image kept running)
     * @param detail  the new image's version and JDK when done, why it was refused otherwise
     */
    record LastUpgrade(String outcome, long atMillis, long tookMillis, String detail) {
    }

    /**
     * The counters, since start_server started: one small record of plain numbers so that a future
     * {@code --upgrade} can hand them to its successor ({@link #encode()}, {@link #decode}). The histogram of
     * HUP-to-ready times is kept here for the same reason: its bucket counts are counters too.
     *
     * @param restartsAsked     HUPs received and auto-restarts triggered, including HUPs folded into one restart
     * @param restartsDone      restarts whose new generation counted as started
     * @param exitedEarly       new workers that exited before they counted as started
     * @param timedOut          new workers that missed {@code --ready-timeout}
     * @param execFailed        workers that could not be executed at all
     * @param diedUnexpectedly  current workers that exited on their own (and were started again)
     * @param killsSent         KILLs sent by {@code --kill-timeout}
     * @param readyBuckets      per {@link #READY_BUCKETS_SECONDS} bound, the restarts done within it (not cumulative)
     * @param readyMillisSum    the sum of the HUP-to-ready times of the restarts done
     */
    record Counters(long restartsAsked, long restartsDone, long exitedEarly, long timedOut, long execFailed,
                    long diedUnexpectedly, long killsSent, List<Long> readyBuckets, long readyMillisSum) {

        /** Upper bounds of the HUP-to-ready histogram, in seconds: from a quick restart to a slow JVM's boot. */
        static final List<Double> READY_BUCKETS_SECONDS = List.of(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                120.0);

        Counters {
            readyBuckets = List.copyOf(readyBuckets);
            if (readyBuckets.size() != READY_BUCKETS_SECONDS.size() + 1) {
                throw new IllegalArgumentException("histogram has " + readyBuckets.size() + " buckets");
            }
        }

        static final Counters ZERO = new Counters(0, 0, 0, 0, 0, 0, 0,
                Collections.nCopies(READY_BUCKETS_SECONDS.size() + 1, 0L), 0);

        Counters plusRestartAsked() {
            return new Counters(restartsAsked + 1, restartsDone, exitedEarly, timedOut, execFailed, diedUnexpectedly,
                    killsSent, readyBuckets, readyMillisSum);
        }

        Counters plusRestartDone(long readyMillis) {
            List<Long> buckets = new ArrayList<>(readyBuckets);
            int bucket = 0;
            while (bucket < READY_BUCKETS_SECONDS.size() && readyMillis > READY_BUCKETS_SECONDS.get(bucket) * 1000) {
                bucket++;
            }
            buckets.set(bucket, buckets.get(bucket) + 1);
            return new Counters(restartsAsked, restartsDone + 1, exitedEarly, timedOut, execFailed, diedUnexpectedly,
                    killsSent, buckets, readyMillisSum + readyMillis);
        }

        Counters plusExitedEarly() {
            return new Counters(restartsAsked, restartsDone, exitedEarly + 1, timedOut, execFailed, diedUnexpectedly,
                    killsSent, readyBuckets, readyMillisSum);
        }

        Counters plusTimedOut() {
            return new Counters(restartsAsked, restartsDone, exitedEarly, timedOut + 1, execFailed, diedUnexpectedly,
                    killsSent, readyBuckets, readyMillisSum);
        }

        Counters plusExecFailed() {
            return new Counters(restartsAsked, restartsDone, exitedEarly, timedOut, execFailed + 1, diedUnexpectedly,
                    killsSent, readyBuckets, readyMillisSum);
        }

        Counters plusDiedUnexpectedly() {
            return new Counters(restartsAsked, restartsDone, exitedEarly, timedOut, execFailed, diedUnexpectedly + 1,
                    killsSent, readyBuckets, readyMillisSum);
        }

        Counters plusKillSent() {
            return new Counters(restartsAsked, restartsDone, exitedEarly, timedOut, execFailed, diedUnexpectedly,
                    killsSent + 1, readyBuckets, readyMillisSum);
        }

        /** One line of numbers, for an environment variable or a pipe; {@link #decode} reads it back. */
        String encode() {
            StringBuilder text = new StringBuilder("1");
            for (long n : List.of(restartsAsked, restartsDone, exitedEarly, timedOut, execFailed, diedUnexpectedly,
                    killsSent, readyMillisSum)) {
                text.append(' ').append(n);
            }
            readyBuckets.forEach(n -> text.append(' ').append(n));
            return text.toString();
        }

        /** What {@link #encode()} wrote; {@link #ZERO} for anything else, since counters are not worth a failure. */
        static Counters decode(String text) {
            try {
                String[] f = text.trim().split(" ");
                if (!f[0].equals("1") || f.length != 9 + READY_BUCKETS_SECONDS.size() + 1) {
                    return ZERO;
                }
                long[] n = new long[f.length];
                for (int i = 1; i < f.length; i++) {
                    n[i] = Long.parseLong(f[i]);
                }
                List<Long> buckets = new ArrayList<>();
                for (int i = 9; i < f.length; i++) {
                    buckets.add(n[i]);
                }
                return new Counters(n[1], n[2], n[3], n[4], n[5], n[6], n[7], buckets, n[8]);
            } catch (RuntimeException e) {
                return ZERO;
            }
        }
    }

    /** The workers that have a role, by generation. */
    long count(Role role) {
        return workers.stream().filter(w -> w.role() == role).count();
    }

    /** The generation that serves: the current worker's, 0 before the first one started. */
    long currentGeneration() {
        return workers.stream().filter(w -> w.role() == Role.CURRENT).mapToLong(Worker::generation).max().orElse(0);
    }

    // ---- JSON, written by hand: the superdaemon has no JSON library, and this document is small and flat ----------

    String toJson() {
        Json json = new Json();
        json.open('{');
        json.field("schema").number(SCHEMA);
        json.field("pid").number(pid);
        json.field("version").string(version);
        json.field("started_at").time(startedAtMillis);
        json.field("java").open('{');
        json.field("version").string(javaVersion);
        json.field("vendor").string(javaVendor);
        json.field("home").string(javaHome);
        json.close('}');
        json.field("state").string(state.label());
        json.field("current_generation").number(currentGeneration());
        json.field("server_starter_port").string(serverStarterPort);
        json.field("listeners").open('[');
        for (String entry : serverStarterPort.isEmpty() ? new String[0] : serverStarterPort.split(";")) {
            int eq = entry.lastIndexOf('=');
            json.open('{');
            json.field("address").string(entry.substring(0, eq));
            json.field("fd").number(Long.parseLong(entry.substring(eq + 1)));
            json.close('}');
        }
        json.close(']');
        json.field("workers").open('[');
        for (Worker worker : workers) {
            json.open('{');
            json.field("pid").number(worker.pid());
            json.field("generation").number(worker.generation());
            json.field("role").string(worker.role().label());
            json.field("started_at").time(worker.startedAtMillis());
            json.field("signalled_at").time(worker.signalledAtMillis());
            json.close('}');
        }
        json.close(']');
        json.field("counters").open('{');
        json.field("restarts_asked").number(counters.restartsAsked());
        json.field("restarts_done").number(counters.restartsDone());
        json.field("failed_starts").open('{');
        json.field("exited_early").number(counters.exitedEarly());
        json.field("timed_out").number(counters.timedOut());
        json.field("exec_failed").number(counters.execFailed());
        json.close('}');
        json.field("died_unexpectedly").number(counters.diedUnexpectedly());
        json.field("kills_sent").number(counters.killsSent());
        json.close('}');
        json.field("last_restart");
        if (lastRestart == null) {
            json.nothing();
        } else {
            json.open('{');
            json.field("trigger").string(lastRestart.trigger());
            json.field("outcome").string(lastRestart.outcome());
            json.field("asked_at").time(lastRestart.askedAtMillis());
            json.field("finished_at").time(lastRestart.finishedAtMillis());
            json.field("hup_to_ready_ms");
            if (lastRestart.readyMillis() < 0) {
                json.nothing();
            } else {
                json.number(lastRestart.readyMillis());
            }
            json.field("generation").number(lastRestart.generation());
            json.field("failed_attempts").number(lastRestart.failedAttempts());
            json.close('}');
        }
        json.field("metrics").string(metrics);
        json.field("image_started_at").time(imageStartedAtMillis);
        json.field("last_upgrade");
        if (lastUpgrade == null) {
            json.nothing();
        } else {
            json.open('{');
            json.field("outcome").string(lastUpgrade.outcome());
            json.field("at").time(lastUpgrade.atMillis());
            json.field("took_ms").number(lastUpgrade.tookMillis());
            json.field("detail").string(lastUpgrade.detail());
            json.close('}');
        }
        json.close('}');
        return json.text() + "\n";
    }

    /** A minimal writer: objects, arrays, strings, integers, null, and times as ISO-8601 UTC strings. */
    private static final class Json {
        private final StringBuilder out = new StringBuilder();
        /** Whether the next value or field is the first of its container (no comma before it). */
        private boolean first = true;

        Json open(char bracket) {
            separate();
            out.append(bracket);
            first = true;
            return this;
        }

        void close(char bracket) {
            out.append(bracket);
            first = false;
        }

        Json field(String name) {
            separate();
            quote(name);
            out.append(':');
            first = true; // the value follows without a comma
            return this;
        }

        void number(long value) {
            separate();
            out.append(value);
        }

        void nothing() {
            separate();
            out.append("null");
        }

        /** Milliseconds since the epoch as {@code 2026-12-03T13:38:00.123Z}; 0 is null (not happened). */
        void time(long epochMillis) {
            if (epochMillis <= 0) {
                nothing();
            } else {
                string(java.time.Instant.ofEpochMilli(epochMillis).toString());
            }
        }

        void string(String value) {
            if (value == null) {
                nothing();
                return;
            }
            separate();
            quote(value);
        }

        private void separate() {
            if (!first) {
                out.append(',');
            }
            first = false;
        }

        private void quote(String value) {
            out.append('"');
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    default -> {
                        if (c < 0x20) {
                            out.append(String.format("\\u%04x", (int) c));
                        } else {
                            out.append(c);
                        }
                    }
                }
            }
            out.append('"');
        }

        String text() {
            return out.toString();
        }
    }
}

package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.serverstarter.superdaemon.cli.Seconds;
import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Signals;
import org.serverstarter.superdaemon.posix.SpawnRequest;

/**
 * The supervisor's state machine, in one place, as Perl's single loop in {@code Server::Starter::start_server}.
 *
 * <p>State: the current worker, the old workers (pid to generation), the time of the last restart, and the queue of
 * signals received. Signal handlers and child exits only put an event on {@link #events}; this class's one thread
 * takes every decision. Each iteration waits for an event, reloads the envdir, handles the current worker's death
 * (respawning it unless TERM or INT is pending), then the queued signals (HUP restarts, TERM and INT shut down), then
 * the auto-restart timer. Whatever must not wait for the loop (KILL escalation, reaping old workers, the logger) is
 * done from every wait, including those inside a restart ({@link #poll}).
 *
 * <p>Each worker leads a process group of its own, and every signal goes to the group, so that what a wrapper script
 * started is stopped with it; a worker that is a single process sees exactly the signals it did before.
 *
 * <p>Whenever its state changes, the loop publishes an immutable {@link Status} in a volatile field ({@link #status()}):
 * the status socket and the metrics server read it from their own threads, so the loop never waits for a client,
 * and the loop stays the one place that owns the state.
 *
 * <p>Where this differs from Perl it is on purpose, see docs/compatibility.md: a signal no longer cuts a new
 * worker's {@code --interval} short (only TERM and INT end the wait, and a dead new worker never counts as started),
 * and a program that cannot be executed is reported by {@code posix_spawn} at once instead of by a dying child.
 */
final class Supervisor {
    /** How long a blocking wait lasts at most; a lost SIGCHLD is then noticed by polling. */
    private static final long MAX_WAIT_MILLIS = 1000;
    /** How long a worker that TERM or INT ended leaves the same signal to reach us before its exit counts as a crash. */
    private static final long STOP_SIGNAL_GRACE_MILLIS = 1000;
    /** How often a group that outlived its worker is looked at. */
    private static final long LINGER_POLL_MILLIS = 100;
    private static final int ESRCH = 3;

    private final Settings settings;
    private final Environment environment;
    private final StatusFile statusFile;
    private final Os os;
    private final Children children;
    private final Consumer<String> out;
    private final Deque<String> signals = new ArrayDeque<>();

    private Worker current;
    private final Map<Long, Long> oldWorkers = new LinkedHashMap<>();
    /** Signalled process groups (a worker's group has the worker's pid as its id) and when they get KILL. */
    private final KillDeadlines killDeadlines = new KillDeadlines();
    /**
     * Groups whose worker has exited while other processes of the group still run (a wrapper script's children):
     * they keep the sockets, so they are waited for and escalated like the worker itself.
     */
    private final Set<Long> lingeringGroups = new LinkedHashSet<>();
    /** The worker being started, not yet current. */
    private long starting;
    private boolean stopping;
    private boolean statusFailing;
    private long statusRetryNanos;
    private LogOutput log;
    private Systemd systemd;
    private final List<Long> otherChildren = new ArrayList<>();
    /** New workers whose READY=1 has arrived. */
    private final Set<Long> readyPids = new HashSet<>();
    private long generation;
    private long lastRestartSeconds;

    // What --status and --metrics show; only this thread writes these, and publish() copies them out.
    private long startedAtMillis;
    private final long imageStartedAtMillis;
    private final String version;
    private String metricsAddress;
    private Status.Counters counters = Status.Counters.ZERO;
    private Status.LastRestart lastRestart;
    /** When each worker was spawned, and when it was first sent a signal to stop (epoch milliseconds). */
    private final Map<Long, Long> spawnedAt = new HashMap<>();
    private final Map<Long, Long> signalledAt = new HashMap<>();
    /** The generation a restart replaces: it serves on, and counts as current, until it is signalled. */
    private long replacing;
    private boolean restarting;
    private boolean everStarted;
    /** When the HUP waiting in {@link #signals} arrived, for the HUP-to-ready time. */
    private long hupNanos;
    private long hupMillis;
    private volatile Status published;

    // --upgrade: connections of clients waiting for its outcome, and who carries it out.
    private final List<Integer> upgradeRequests = new ArrayList<>();
    private Upgrader upgrader;
    private Status.LastUpgrade lastUpgrade;
    /** True in an image that took over from a previous one: the workers already run. */
    private boolean restored;

    /** Replaces this image of start_server by a new one in the same process ({@link Upgrade}). */
    interface Upgrader {
        /** Checks the new image and execs it with the {@link Handover}; returns only when it could not, saying why. */
        String upgrade(Handing handing);

        /** Writes one line to each waiting client and closes its connection. */
        void answer(List<Integer> connections, String line);
    }

    /** What the upgrader asks of the loop once signals are held. */
    interface Handing {
        /** Takes the events that arrive within {@code millis} (signals caught just before they were held). */
        void settle(long millis);

        /** The state to hand over, or null when TERM or INT has arrived (the loop then shuts down instead). */
        Handover handover();
    }

    /**
     * The supervisor's state as a new image takes it over: the workers (pid to generation), when they were spawned
     * and signalled, the KILL deadlines still to come (as milliseconds from the hand-over, since the monotonic clock
     * does not survive the exec), the counters, the signals not yet handled, and the clients to answer.
     */
    record Handover(long startedAtMillis, long askedAtMillis, long generation, long lastRestartSeconds,
                    long currentPid, long currentGeneration, Map<Long, Long> oldWorkers, Map<Long, Long> spawnedAt,
                    Map<Long, Long> signalledAt, Map<Long, Long> killInMillis, List<Long> lingeringGroups,
                    Status.Counters counters, Status.LastRestart lastRestart, List<String> signals,
                    List<Integer> replies) {
    }

    private record Worker(long pid, long generation) {
    }

    private record Exit(long pid, int status) {
    }

    /** What the loop needs from the command line, with defaults applied. */
    record Settings(String program, List<String> argv, String directory, long interval, String signalOnHup,
                    int signalOnHupNumber, String signalOnTerm, int signalOnTermNumber, String serverStarterPort,
                    List<SpawnRequest.Placement> placements, long killTimeout, long maxBackoff, long readyTimeout,
                    int newWorkerNice) {
    }

    /**
     * @param os  processes, clocks, and the events that signal handlers (installed before the sockets were bound, so
     *            that an early TERM is not lost) and the notify socket post
     * @param out where the log lines go (stderr, which is the log file once there is one)
     */
    Supervisor(Settings settings, Environment environment, StatusFile statusFile, Os os, Consumer<String> out) {
        this.settings = settings;
        this.environment = environment;
        this.statusFile = statusFile;
        this.os = os;
        this.children = new Children(os);
        this.out = out;
        this.startedAtMillis = os.currentMillis();
        this.imageStartedAtMillis = startedAtMillis;
        String release = Supervisor.class.getPackage().getImplementationVersion();
        this.version = release == null ? "dev" : release;
        publish();
    }

    /** The latest snapshot; safe from any thread, never null. */
    Status status() {
        return published;
    }

    /** What --metrics listens on, shown in the status. */
    void useMetricsAddress(String address) {
        this.metricsAddress = address;
        publish();
    }

    /** Enables {@code --upgrade} requests (only with a pid file, through which clients find us). */
    void useUpgrader(Upgrader upgrader) {
        this.upgrader = upgrader;
    }

    /**
     * Takes over from the image of start_server that ran before in this process: its workers run on (those that
     * exited meanwhile are zombies, reaped and reported by the loop as usual), their deadlines and the counters
     * carry on, and the signals it had not handled yet are handled here. Call before {@link #run}.
     */
    void restore(Handover h) {
        restored = true;
        everStarted = true;
        startedAtMillis = h.startedAtMillis();
        generation = h.generation();
        lastRestartSeconds = h.lastRestartSeconds();
        current = new Worker(h.currentPid(), h.currentGeneration());
        oldWorkers.putAll(h.oldWorkers());
        spawnedAt.putAll(h.spawnedAt());
        signalledAt.putAll(h.signalledAt());
        long now = os.nanoTime();
        h.killInMillis().forEach((group, millis) -> killDeadlines.arm(group,
                now + TimeUnit.MILLISECONDS.toNanos(millis)));
        lingeringGroups.addAll(h.lingeringGroups());
        counters = h.counters();
        lastRestart = h.lastRestart();
        signals.addAll(h.signals()); // counted by the image that received them
        if (signals.contains("HUP")) {
            hupNanos = now;
            hupMillis = os.currentMillis();
        }
        long nowMillis = os.currentMillis();
        lastUpgrade = new Status.LastUpgrade("done", nowMillis, Math.max(0, nowMillis - h.askedAtMillis()),
                "start_server " + version + " on Java " + System.getProperty("java.version") + " ("
                        + System.getProperty("java.home") + ")");
        updateStatus();
        publish();
    }

    /** The line an upgraded image sends its clients once it runs. */
    String upgradedLine() {
        return "ok " + lastUpgrade.detail() + ", took " + lastUpgrade.tookMillis() + " ms";
    }

    /** Tells systemd about start-up, restarts and shutdown (when it started us with NOTIFY_SOCKET). */
    void useSystemd(Systemd systemd) {
        this.systemd = systemd;
    }

    /**
     * The log to reopen on USR1. Its {@code | command} logger is our child too: it is reaped and reported, never
     * taken for a worker.
     */
    void useLog(LogOutput log) {
        this.log = log;
        if (log.loggerPid() > 0) {
            otherChildren.add(log.loggerPid());
        }
    }

    /** Runs until TERM or INT has stopped every worker. */
    void run() {
        drainEvents();
        if (stopRequested()) {
            shutDown(pendingStop()); // stopped while starting up: no worker to start
            return;
        }
        if (!restored) {
            startWorker();
            // An upgraded image says nothing: systemd saw READY=1 from this pid long ago, and a second one would
            // only be taken for the end of a reload nobody announced.
            if (systemd != null && current != null) {
                systemd.ready(current.generation(), current.pid());
            }
        }
        while (true) {
            Exit exit = waitForEvent();
            environment.reloadEnvdir();
            if (environment.isTrue("ENABLE_AUTO_RESTART") && isPerlFalse(environment.get("AUTO_RESTART_INTERVAL"))) {
                environment.setDefault("AUTO_RESTART_INTERVAL", "360");
            }
            if (exit != null) {
                current = null;
                drainEvents(); // a TERM that came with the exit decides what the exit means
                if (!stopRequested() && endedByStopSignal(exit.status())) {
                    // A TERM to the whole group or cgroup (systemd's KillMode=control-group) can end the worker
                    // before the JVM has handed the same signal to us, whose handler runs on a thread of its own.
                    sleepUnlessStopping(STOP_SIGNAL_GRACE_MILLIS);
                }
                if (stopRequested()) {
                    // Killed by the same TERM that asks us to stop (a signal to the whole process group or cgroup):
                    // respawning it now would only start a worker to stop at once.
                    log("worker " + exit.pid() + " died, status:" + exit.status());
                    afterWorkerExit(exit.pid(), true);
                } else {
                    log("worker " + exit.pid() + " died unexpectedly with status:" + exit.status() + ", restarting");
                    counters = counters.plusDiedUnexpectedly();
                    publish();
                    afterWorkerExit(exit.pid(), true);
                    startWorker();
                }
            }
            boolean restart = false;
            String trigger = "HUP";
            long askedNanos = hupNanos;
            long askedMillis = hupMillis;
            while (!signals.isEmpty()) {
                String signal = signals.poll();
                if (signal.equals("HUP")) {
                    log("received HUP, spawning a new worker");
                    restart = true;
                    break;
                } else if (signal.equals("USR1")) {
                    reopenLog();
                } else if (!signal.equals("ALRM")) {
                    shutDown(signal);
                    return;
                }
            }
            if (!restart && environment.isTrue("ENABLE_AUTO_RESTART")) {
                restart = autoRestartDue();
                if (restart) {
                    trigger = "auto";
                    askedNanos = os.nanoTime();
                    askedMillis = os.currentMillis();
                    counters = counters.plusRestartAsked();
                }
            }
            if (restart) {
                restart(trigger, askedNanos, askedMillis);
            } else if (!upgradeRequests.isEmpty()) {
                upgrade();
            }
        }
    }

    /**
     * {@code --upgrade}, from the loop, between restarts: the upgrader returns only when the new image could not
     * start (or TERM came first), and this one then carries on as if nothing had happened.
     */
    private void upgrade() {
        long askedMillis = os.currentMillis();
        if (upgrader == null) {
            answerUpgrades("refused start_server cannot upgrade without --pid-file");
            return;
        }
        log("received an upgrade request, checking the new start_server");
        String failure = upgrader.upgrade(new Handing() {
            @Override
            public void settle(long millis) {
                long deadline = os.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
                for (Event event; (event = os.awaitEvent(deadline)) != null; ) {
                    absorb(event, 0);
                }
            }

            @Override
            public Handover handover() {
                drainEvents();
                if (stopRequested() || current == null) {
                    return null;
                }
                long now = os.nanoTime();
                Map<Long, Long> killIn = new LinkedHashMap<>();
                killDeadlines.all().forEach((group, at) -> killIn.put(group,
                        Math.max(0, TimeUnit.NANOSECONDS.toMillis(at - now))));
                log("handing over to the new start_server");
                return new Handover(startedAtMillis, askedMillis, generation, lastRestartSeconds, current.pid(),
                        current.generation(), new LinkedHashMap<>(oldWorkers), new LinkedHashMap<>(spawnedAt),
                        new LinkedHashMap<>(signalledAt), killIn, new ArrayList<>(lingeringGroups), counters,
                        lastRestart, new ArrayList<>(signals), new ArrayList<>(upgradeRequests));
            }
        });
        lastUpgrade = new Status.LastUpgrade("refused", os.currentMillis(), os.currentMillis() - askedMillis,
                failure);
        publish();
        log("upgrade refused: " + failure + "; this start_server keeps running");
        answerUpgrades("refused " + failure);
    }

    private void answerUpgrades(String line) {
        if (!upgradeRequests.isEmpty()) {
            List<Integer> waiting = new ArrayList<>(upgradeRequests);
            upgradeRequests.clear();
            if (upgrader != null) {
                upgrader.answer(waiting, line);
            }
        }
    }

    private boolean autoRestartDue() {
        long interval = Seconds.clamp(environment.number("AUTO_RESTART_INTERVAL", 360));
        long elapsed = os.currentSeconds() - lastRestartSeconds;
        if (elapsed >= interval && oldWorkers.isEmpty()) {
            log("autorestart triggered (interval=" + interval + ")");
            return true;
        }
        if (elapsed >= interval * 2) {
            log("autorestart triggered (forced, interval=" + interval + ")");
            return true;
        }
        return false;
    }

    private void restart(String trigger, long askedNanos, long askedMillis) {
        if (systemd != null) {
            systemd.reloading();
        }
        lastRestart = new Status.LastRestart(trigger, "in_progress", askedMillis, 0, -1, 0, 0);
        restarting = true;
        if (current != null) {
            oldWorkers.put(current.pid(), current.generation());
            replacing = current.pid();
            current = null;
        }
        publish();
        startWorker();
        restarting = false;
        replacing = 0;
        if (current == null) {
            // TERM or INT arrived while starting; the loop shuts down next.
            lastRestart = new Status.LastRestart(trigger, "interrupted", askedMillis, os.currentMillis(), -1, 0,
                    lastRestart.failedAttempts());
            publish();
            return;
        }
        long readyMillis = TimeUnit.NANOSECONDS.toMillis(os.nanoTime() - askedNanos);
        counters = counters.plusRestartDone(readyMillis);
        lastRestart = new Status.LastRestart(trigger, "done", askedMillis, os.currentMillis(), readyMillis,
                current.generation(), lastRestart.failedAttempts());
        publish();
        log("new worker is now running, sending " + settings.signalOnHup() + " to old workers:"
                + (oldWorkers.isEmpty() ? "none" : joinSortedAsText(oldWorkers.keySet())));
        long delay = environment.get("KILL_OLD_DELAY") != null
                ? environment.number("KILL_OLD_DELAY", 0)
                : environment.isTrue("ENABLE_AUTO_RESTART") ? 5 : 0;
        if (delay != 0) {
            log("sleeping " + delay + " secs before killing old workers");
            sleepIgnoringSignals(Seconds.toMillis(delay));
        }
        log("killing old workers");
        for (long pid : sortedAsText(oldWorkers.keySet())) {
            signal(pid, settings.signalOnHupNumber());
            retired(pid);
            armKill(pid);
        }
        publish();
        if (systemd != null) {
            systemd.ready(current.generation(), current.pid());
        }
    }

    /**
     * Spawns generations until one is still alive after {@code --interval}. Returns without a worker only when TERM
     * or INT arrived meanwhile; none is spawned once they have.
     */
    private void startWorker() {
        int failures = 0;
        while (true) {
            if (failures > 0 && settings.maxBackoff() > 0) {
                long delay = Math.min(1L << Math.min(failures - 1, 30), settings.maxBackoff());
                log("backing off " + delay + " secs before the next attempt");
                if (sleepUnlessStopping(Seconds.toMillis(delay))) {
                    return;
                }
            }
            drainEvents();
            if (stopRequested()) {
                return;
            }
            generation++;
            long pid;
            try {
                pid = os.spawn(new SpawnRequest(settings.program(), settings.argv(),
                        environment.forWorker(settings.serverStarterPort(), generation), settings.directory(),
                        settings.placements(), settings.newWorkerNice() > 0
                                ? SpawnRequest.Grouping.OWN_SESSION : SpawnRequest.Grouping.OWN_GROUP));
            } catch (ErrnoException e) {
                log("failed to exec " + settings.argv().get(0) + ":" + e.getMessage());
                counters = counters.plusExecFailed();
                countFailedAttempt();
                publish();
                failures++;
                if (sleepUnlessStopping(Seconds.toMillis(settings.interval()))) {
                    return;
                }
                continue;
            }
            log("starting new worker " + pid);
            starting = pid;
            spawnedAt.put(pid, os.currentMillis());
            publish();
            try {
                if (attemptStart(pid)) {
                    return;
                }
            } finally {
                starting = 0;
            }
            countFailedAttempt();
            publish();
            failures++;
            if (stopRequested()) {
                return;
            }
        }
    }

    /** One more new worker failed; a restart under way shows it at once, when an operator looks at it. */
    private void countFailedAttempt() {
        if (restarting) {
            lastRestart = lastRestart.withFailedAttempts(lastRestart.failedAttempts() + 1);
        }
    }

    /**
     * Judges one new worker: true when it counts as started (it is then current) or when TERM or INT arrived while
     * it was being judged (it is then among the workers shutdown will stop).
     */
    private boolean attemptStart(long pid) {
        long spawnedNanos = os.nanoTime();
        boolean lowered = lowerWhileStarting(pid);
        if (settings.readyTimeout() > 0) {
            Outcome outcome = awaitReady(pid);
            if (outcome == Outcome.READY) {
                log("new worker " + pid + " is ready");
                started(pid, lowered);
                return true;
            }
            if (outcome == Outcome.STOPPING) {
                oldWorkers.put(pid, generation); // not started, but shutdown must stop it too
                return true;
            }
            // At most one attempt per --interval, as without readiness: a program that exits at once (a typo in
            // its flags, a missing jar) must not be respawned in a tight loop.
            long spentMillis = TimeUnit.NANOSECONDS.toMillis(os.nanoTime() - spawnedNanos);
            return sleepUnlessStopping(Seconds.toMillis(settings.interval()) - spentMillis);
        }
        boolean interrupted = sleepUnlessStopping(Seconds.toMillis(settings.interval()));
        int status = children.reap(pid);
        if (status < 0) {
            started(pid, lowered);
            return true;
        }
        counters = counters.plusExitedEarly();
        publish(); // before the line: whoever reacts to it finds the count
        log("new worker " + pid + " seems to have failed to start, exit status:" + status);
        afterWorkerExit(pid, true);
        return interrupted;
    }

    private void started(long pid, boolean lowered) {
        if (lowered) {
            setAutogroupNice(pid, 0);
        }
        current = new Worker(pid, generation);
        everStarted = true;
        lastRestartSeconds = os.currentSeconds();
        updateStatus();
        publish();
    }

    /**
     * {@code --new-worker-nice}: a worker that starts while others run (the generation it replaces, or old ones still
     * draining) gets only the CPU they leave idle until it counts as started, so that their clients do not wait for
     * it. The first generation, which has nothing to compete with, starts at full speed.
     */
    private boolean lowerWhileStarting(long pid) {
        return settings.newWorkerNice() > 0 && !oldWorkers.isEmpty() && setAutogroupNice(pid, settings.newWorkerNice());
    }

    private boolean setAutogroupNice(long pid, int nice) {
        try {
            os.setAutogroupNice(pid, nice);
            return true;
        } catch (NoSuchFileException e) {
            return false; // already gone; reaped as a failed start
        } catch (IOException e) {
            log("cannot set the nice value of worker " + pid + "'s autogroup to " + nice + ": " + e.getMessage());
            return false;
        }
    }

    private enum Outcome { READY, FAILED, STOPPING }

    /**
     * {@code --readiness=notify}: a new worker counts as started when it (or a process it started) sends
     * {@code READY=1}, not after a fixed interval. One that exits first, or misses {@code --ready-timeout}, has
     * failed: the latter is stopped like an old worker, and the current generation keeps serving.
     */
    private Outcome awaitReady(long pid) {
        long deadline = os.nanoTime() + Seconds.toNanos(settings.readyTimeout());
        while (true) {
            if (readyPids.remove(pid)) {
                return Outcome.READY;
            }
            if (stopRequested()) {
                return Outcome.STOPPING;
            }
            int status = children.reap(pid);
            if (status >= 0) {
                counters = counters.plusExitedEarly();
                publish(); // before the line: whoever reacts to it finds the count
                log("new worker " + pid + " seems to have failed to start, exit status:" + status);
                afterWorkerExit(pid, true);
                return Outcome.FAILED;
            }
            Event event = poll(deadline);
            if (event == null) {
                counters = counters.plusTimedOut();
                log("new worker " + pid + " did not send READY=1 within " + settings.readyTimeout()
                        + " secs, sending TERM");
                signal(pid, Signals.TERM);
                retired(pid);
                oldWorkers.put(pid, generation);
                armKill(pid);
                updateStatus();
                publish();
                return Outcome.FAILED;
            }
            absorb(event, pid);
        }
    }

    /** Stops every worker with the right signal and waits for all of them; Perl's {@code cleanup}. */
    private void shutDown(String trigger) {
        stopping = true;
        answerUpgrades("refused start_server is stopping");
        if (systemd != null) {
            systemd.stopping();
        }
        String name = trigger.equals("TERM") ? settings.signalOnTerm() : "TERM";
        int number = trigger.equals("TERM") ? settings.signalOnTermNumber() : Signals.TERM;
        if (current != null) {
            oldWorkers.put(current.pid(), current.generation());
            current = null;
        }
        log("received " + trigger + ", sending " + name + " to all workers:" + joinSortedAsText(oldWorkers.keySet()));
        killDeadlines.clear();
        for (long pid : sortedAsText(oldWorkers.keySet())) {
            signal(pid, number);
            retired(pid);
            armKill(pid);
        }
        publish();
        for (long group : lingeringGroups) {
            signal(group, number);
            armKill(group);
        }
        while (!oldWorkers.isEmpty() || !lingeringGroups.isEmpty()) {
            Event event = poll(os.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MAX_WAIT_MILLIS));
            if (event != null) {
                absorb(event, 0);
            }
        }
        log("exiting");
    }

    // ---- waiting ---------------------------------------------------------------------------------------------------

    /**
     * Perl's {@code wait}: returns the current worker's exit, or null when a signal (or the one-second auto-restart
     * tick) ended the wait. Does not block while signals are queued.
     */
    private Exit waitForEvent() {
        drainEvents();
        Exit exit = currentExit();
        if (exit != null || !signals.isEmpty() || !upgradeRequests.isEmpty()) {
            return exit;
        }
        long deadline = os.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MAX_WAIT_MILLIS);
        while (true) {
            Event event = poll(deadline);
            if (event == null) {
                return currentExit();
            }
            if (event instanceof Event.Signal signal) {
                queue(signal.name());
                return currentExit();
            }
            if (event instanceof Event.Upgrade) {
                absorb(event, 0);
                return currentExit();
            }
            exit = currentExit();
            if (exit != null) {
                return exit;
            }
        }
    }

    private Exit currentExit() {
        if (current == null) {
            return null;
        }
        int status = children.reap(current.pid());
        return status >= 0 ? new Exit(current.pid(), status) : null;
    }

    /**
     * Whether a wait status says TERM or INT ended the process: killed by the signal, or exited with 128 plus its
     * number, as a JVM or a shell does when the signal makes it exit.
     */
    static boolean endedByStopSignal(int status) {
        int signal = status & 0x7f;
        int code = (status >> 8) & 0xff;
        return signal == Signals.TERM || signal == Signals.INT
                || signal == 0 && (code == 128 + Signals.TERM || code == 128 + Signals.INT);
    }

    /** Sleeps; TERM or INT end the sleep early (returning true), other signals are kept for the loop. */
    private boolean sleepUnlessStopping(long millis) {
        long deadline = os.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(0, millis));
        while (true) {
            if (stopRequested()) {
                return true;
            }
            Event event = poll(deadline);
            if (event == null) {
                return false;
            }
            absorb(event, 0);
        }
    }

    /** The kill-old-delay is slept in full, whatever arrives (Perl 0.33, #44). */
    private void sleepIgnoringSignals(long millis) {
        long deadline = os.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (true) {
            Event event = poll(deadline);
            if (event == null) {
                return;
            }
            absorb(event, 0);
        }
    }

    /**
     * Every wait goes through here: it returns the next event, or null at the deadline, and meanwhile, at least once
     * a second, does what must not wait for the main loop: KILL for the groups past their deadline, reaping the old
     * workers (a timed-out new one included) and the logger, watching lingering groups, retrying the status file.
     */
    private Event poll(long deadlineNanos) {
        while (true) {
            housekeeping();
            long now = os.nanoTime();
            long wakeUp = Math.min(deadlineNanos - now, TimeUnit.MILLISECONDS.toNanos(
                    lingeringGroups.isEmpty() ? MAX_WAIT_MILLIS : LINGER_POLL_MILLIS));
            Event event = os.awaitEvent(killDeadlines.earliest(now + wakeUp));
            if (event != null || deadlineNanos - os.nanoTime() <= 0) {
                if (event == null) {
                    housekeeping();
                }
                return event;
            }
        }
    }

    private void housekeeping() {
        escalate();
        children.collectOrphans(this::isOurChild);
        reapOldWorkers();
        reapLogger();
        watchLingeringGroups();
        if (statusFailing && os.nanoTime() - statusRetryNanos >= 0) {
            updateStatus();
        }
    }

    private void drainEvents() {
        for (Event event; (event = os.awaitEvent(os.nanoTime())) != null; ) {
            absorb(event, 0);
        }
    }

    private boolean stopRequested() {
        return pendingStop() != null;
    }

    private String pendingStop() {
        return signals.stream().filter(s -> s.equals("TERM") || s.equals("INT")).findFirst().orElse(null);
    }

    /** Reaps the old workers that have exited: signalled generations, and new ones that missed their deadline. */
    private void reapOldWorkers() {
        for (long pid : new ArrayList<>(oldWorkers.keySet())) {
            int status = children.reap(pid);
            if (status >= 0) {
                // Perl's words: "worker" while shutting down, "old worker" otherwise.
                oldWorkers.remove(pid);
                updateStatus(); // first, so that whoever reacts to the line finds the file up to date
                publish();
                log((stopping ? "worker " : "old worker ") + pid + " died, status:" + status);
                afterWorkerExit(pid, false);
            }
        }
    }

    /**
     * A worker's process group outlives it when the worker was a wrapper (a shell script that did not {@code exec}):
     * what it started holds the sockets and keeps serving. The group is waited for, and escalated, like the worker;
     * one whose worker died on its own is asked to stop first.
     */
    private void afterWorkerExit(long pid, boolean unasked) {
        if (!groupAlive(pid)) {
            killDeadlines.cancel(pid);
            return;
        }
        lingeringGroups.add(pid);
        if (unasked) {
            log("worker " + pid + " has exited but processes of its group remain, sending TERM to the group");
            signal(pid, Signals.TERM);
            armKill(pid);
        } else {
            log("worker " + pid + " has exited but processes of its group remain, waiting for them");
        }
    }

    private void watchLingeringGroups() {
        for (var it = lingeringGroups.iterator(); it.hasNext(); ) {
            long group = it.next();
            if (!groupAlive(group)) {
                it.remove();
                killDeadlines.cancel(group);
                log("the processes of worker " + group + "'s group have exited");
            }
        }
    }

    private boolean groupAlive(long group) {
        try {
            os.kill(-group, 0);
            return true;
        } catch (ErrnoException e) {
            return e.errno() != ESRCH;
        }
    }

    private void reapLogger() {
        for (int i = 0; i < otherChildren.size(); i++) {
            long pid = otherChildren.get(i);
            int status = children.reap(pid);
            if (status >= 0) {
                otherChildren.remove(i--);
                long restarted = log == null ? -1 : log.loggerExited(pid, status);
                if (restarted > 0) {
                    otherChildren.add(restarted);
                }
            }
        }
    }

    /** As PID 1, what {@link Children#collectOrphans} must keep: our workers and the logger. */
    private boolean isOurChild(long pid) {
        return current != null && current.pid() == pid || pid == starting || oldWorkers.containsKey(pid)
                || otherChildren.contains(pid);
    }

    /**
     * Sorts an event: child exits are reaped where they are needed, a READY=1 counts only for the worker being
     * started ({@code awaited}, or none), and signals wait for the loop.
     */
    private void absorb(Event event, long awaited) {
        if (event instanceof Event.Ready ready) {
            if (awaited > 0 && ready.isFrom(awaited)) {
                readyPids.add(awaited);
            }
        } else if (event instanceof Event.Signal signal) {
            queue(signal.name());
        } else if (event instanceof Event.Upgrade upgrade) {
            upgradeRequests.add(upgrade.connection()); // handled by the loop between restarts
        }
    }

    /**
     * Keeps a signal for the loop. A HUP while one is already waiting is dropped: however many HUPs arrive during a
     * restart, they lead to one more restart, not one each (Perl queues them all).
     */
    private void queue(String signal) {
        if (signal.equals("HUP")) {
            counters = counters.plusRestartAsked();
            publish();
            if (signals.contains("HUP")) {
                return;
            }
            hupNanos = os.nanoTime();
            hupMillis = os.currentMillis();
        }
        signals.add(signal);
    }

    private void armKill(long pid) {
        if (settings.killTimeout() > 0) {
            killDeadlines.arm(pid, os.nanoTime() + Seconds.toNanos(settings.killTimeout()));
        }
    }

    /** {@code --kill-timeout}: KILL for the signalled groups that are still there after it. */
    private void escalate() {
        for (long pid : killDeadlines.takeDue(os.nanoTime())) {
            if (oldWorkers.containsKey(pid) || lingeringGroups.contains(pid)) {
                log((oldWorkers.containsKey(pid) ? "worker " + pid : "the group of worker " + pid)
                        + " is still running " + settings.killTimeout() + " secs after it was signalled, sending KILL");
                signal(pid, Signals.KILL);
                counters = counters.plusKillSent();
                publish();
            }
        }
    }

    private void reopenLog() {
        if (log == null) {
            log("received USR1 but there is no --log-file to reopen");
        } else {
            log.reopen();
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    /**
     * Writes the status file. Once start_server serves, a failed write (a full disk, a directory made read-only) is
     * said once and retried every second; it never stops the service.
     */
    private void updateStatus() {
        if (statusFile == null) {
            return;
        }
        SortedMap<Long, Long> pidByGeneration = new TreeMap<>();
        if (current != null) {
            pidByGeneration.put(current.generation(), current.pid());
        }
        oldWorkers.forEach((pid, gen) -> pidByGeneration.put(gen, pid));
        try {
            statusFile.write(pidByGeneration);
            if (statusFailing) {
                log("status file written again");
            }
            statusFailing = false;
        } catch (IOException e) {
            if (!statusFailing) {
                log(e.getMessage() + " (still serving; trying again every second)");
            }
            statusFailing = true;
            statusRetryNanos = os.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MAX_WAIT_MILLIS);
        }
    }

    /**
     * Signals a worker's whole process group, so that a wrapper's children get it too; the worker alone if it has
     * left the group it was started in.
     */
    private void signal(long pid, int number) {
        try {
            os.kill(-pid, number);
        } catch (ErrnoException e) {
            try {
                os.kill(pid, number);
            } catch (ErrnoException gone) {
                // The worker exited in the meantime; its exit is reaped and reported as usual.
            }
        }
    }

    /** Notes when a worker was first told to stop; it is "old" from then on. */
    private void retired(long pid) {
        signalledAt.putIfAbsent(pid, os.currentMillis());
    }

    /**
     * Copies the state into a new {@link Status} for the status socket and the metrics server. Called after every
     * change; it only reads this thread's fields and writes one volatile reference.
     */
    private void publish() {
        List<Status.Worker> workers = new ArrayList<>();
        Set<Long> live = new HashSet<>(oldWorkers.keySet());
        if (current != null) {
            live.add(current.pid());
            workers.add(describe(current.pid(), current.generation(), Status.Role.CURRENT));
        }
        // Until attemptStart returns, the worker being judged is still "starting" here, though already current or old.
        if (starting > 0 && !oldWorkers.containsKey(starting) && !live.contains(starting)) {
            live.add(starting);
            workers.add(describe(starting, generation, Status.Role.STARTING));
        }
        oldWorkers.forEach((pid, gen) -> workers.add(describe(pid, gen,
                pid == replacing ? Status.Role.CURRENT : Status.Role.OLD)));
        workers.sort((a, b) -> Long.compare(a.generation(), b.generation()));
        spawnedAt.keySet().retainAll(live);
        signalledAt.keySet().retainAll(live);
        Status.State state = stopping ? Status.State.STOPPING
                : restarting || current == null && everStarted ? Status.State.RESTARTING
                : current == null ? Status.State.STARTING : Status.State.RUNNING;
        published = new Status(ProcessHandle.current().pid(), version, startedAtMillis,
                System.getProperty("java.version"), System.getProperty("java.vendor"), System.getProperty("java.home"),
                state, settings.serverStarterPort(), workers, counters, lastRestart, metricsAddress,
                imageStartedAtMillis, lastUpgrade);
    }

    private Status.Worker describe(long pid, long gen, Status.Role role) {
        return new Status.Worker(pid, gen, role, spawnedAt.getOrDefault(pid, 0L), signalledAt.getOrDefault(pid, 0L));
    }

    /** Perl sorts pids as strings in its messages; scripts that parse the lines see the same order. */
    private static List<Long> sortedAsText(Iterable<Long> pids) {
        List<Long> sorted = new ArrayList<>();
        pids.forEach(sorted::add);
        sorted.sort((a, b) -> a.toString().compareTo(b.toString()));
        return sorted;
    }

    private static String joinSortedAsText(Iterable<Long> pids) {
        StringBuilder text = new StringBuilder();
        for (long pid : sortedAsText(pids)) {
            text.append(text.length() == 0 ? "" : ",").append(pid);
        }
        return text.toString();
    }

    /** Perl's {@code ||=} assigns to a value that is undefined, empty or "0". */
    private static boolean isPerlFalse(String value) {
        return value == null || value.isEmpty() || value.equals("0");
    }

    private void log(String line) {
        out.accept(line);
    }

    /**
     * For a start_server that must give up on an unexpected error: TERM to every worker's group, so that none is
     * left serving without a superdaemon.
     */
    void stopWorkersQuietly() {
        List<Long> groups = new ArrayList<>(oldWorkers.keySet());
        groups.addAll(lingeringGroups);
        if (current != null) {
            groups.add(current.pid());
        }
        if (starting > 0) {
            groups.add(starting);
        }
        groups.forEach(pid -> signal(pid, Signals.TERM));
    }
}

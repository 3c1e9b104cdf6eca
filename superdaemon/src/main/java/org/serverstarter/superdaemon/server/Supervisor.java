package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.Signals;
import org.serverstarter.superdaemon.posix.SpawnRequest;

/**
 * The supervisor's state machine, in one place, as Perl's single loop in {@code Server::Starter::start_server}.
 *
 * <p>State: the current worker, the old workers (pid to generation), the time of the last restart, and the queue of
 * signals received. Signal handlers and child exits only put an event on {@link #events}; this class's one thread
 * takes every decision. Each iteration waits for an event, reloads the envdir, handles at most one dead child, then
 * the queued signals (HUP restarts, TERM and INT shut down), then the auto-restart timer.
 *
 * <p>Where this differs from Perl it is on purpose, see docs/compatibility.md: a signal no longer cuts a new
 * worker's {@code --interval} short (only TERM and INT end the wait, and a dead new worker never counts as started),
 * and a program that cannot be executed is reported by {@code posix_spawn} at once instead of by a dying child.
 */
final class Supervisor {
    private static final String CHILD = "CHLD";
    /** How long a blocking wait lasts at most; a lost SIGCHLD is then noticed by polling. */
    private static final long MAX_WAIT_MILLIS = 1000;
    private static final boolean IS_INIT = ProcessHandle.current().pid() == 1;

    private final Settings settings;
    private final Environment environment;
    private final StatusFile statusFile;
    private final BlockingQueue<String> events;
    private final Deque<String> signals = new ArrayDeque<>();

    private Worker current;
    private final Map<Long, Long> oldWorkers = new LinkedHashMap<>();
    /** Old workers that were signalled, with the time after which they get KILL ({@code --kill-timeout}). */
    private final Map<Long, Long> killDeadlines = new LinkedHashMap<>();
    private LogOutput log;
    private Systemd systemd;
    private final List<Long> otherChildren = new ArrayList<>();
    /** New workers whose READY=1 has arrived. */
    private final java.util.Set<Long> readyPids = new java.util.HashSet<>();
    private long generation;
    private long lastRestartSeconds;

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
     * @param events where signal handlers (installed before the sockets were bound, so that an early TERM is not
     *               lost) and the notify socket put their events
     */
    Supervisor(Settings settings, Environment environment, StatusFile statusFile, BlockingQueue<String> events) {
        this.events = events;
        this.settings = settings;
        this.environment = environment;
        this.statusFile = statusFile;
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
        String early = signals.stream().filter(s -> s.equals("TERM") || s.equals("INT")).findFirst().orElse(null);
        if (early != null) {
            shutDown(early); // stopped while starting up: no worker to start
            return;
        }
        startWorker();
        if (systemd != null && current != null) {
            systemd.ready(current.generation(), current.pid());
        }
        while (true) {
            Exit exit = waitForEvent();
            escalate();
            environment.reloadEnvdir();
            if (environment.isTrue("ENABLE_AUTO_RESTART") && isPerlFalse(environment.get("AUTO_RESTART_INTERVAL"))) {
                environment.setDefault("AUTO_RESTART_INTERVAL", "360");
            }
            if (exit != null) {
                if (current != null && exit.pid() == current.pid()) {
                    log("worker " + exit.pid() + " died unexpectedly with status:" + exit.status() + ", restarting");
                    current = null;
                    startWorker();
                } else {
                    log("old worker " + exit.pid() + " died, status:" + exit.status());
                    oldWorkers.remove(exit.pid());
                    killDeadlines.remove(exit.pid());
                    updateStatus();
                }
            }
            boolean restart = false;
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
            }
            if (restart) {
                restart();
            }
        }
    }

    private boolean autoRestartDue() {
        long interval = environment.number("AUTO_RESTART_INTERVAL", 360);
        long elapsed = nowSeconds() - lastRestartSeconds;
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

    private void restart() {
        if (systemd != null) {
            systemd.reloading();
        }
        if (current != null) {
            oldWorkers.put(current.pid(), current.generation());
            current = null;
        }
        startWorker();
        if (current == null) {
            return; // TERM or INT arrived while starting; the loop shuts down next.
        }
        log("new worker is now running, sending " + settings.signalOnHup() + " to old workers:"
                + (oldWorkers.isEmpty() ? "none" : joinSortedAsText(oldWorkers.keySet())));
        long delay = environment.get("KILL_OLD_DELAY") != null
                ? environment.number("KILL_OLD_DELAY", 0)
                : environment.isTrue("ENABLE_AUTO_RESTART") ? 5 : 0;
        if (delay != 0) {
            log("sleeping " + delay + " secs before killing old workers");
            sleepIgnoringSignals(delay * 1000);
        }
        log("killing old workers");
        for (long pid : sortedAsText(oldWorkers.keySet())) {
            signal(pid, settings.signalOnHupNumber());
            armKill(pid);
        }
        if (systemd != null) {
            systemd.ready(current.generation(), current.pid());
        }
    }

    /**
     * Spawns generations until one is still alive after {@code --interval}. Returns without a worker only when TERM
     * or INT arrived meanwhile.
     */
    private void startWorker() {
        int failures = 0;
        while (true) {
            if (failures > 0 && settings.maxBackoff() > 0) {
                long delay = Math.min(1L << Math.min(failures - 1, 30), settings.maxBackoff());
                log("backing off " + delay + " secs before the next attempt");
                if (sleepUnlessStopping(delay * 1000)) {
                    return;
                }
            }
            generation++;
            long pid;
            try {
                pid = Posix.spawn(new SpawnRequest(settings.program(), settings.argv(),
                        environment.forWorker(settings.serverStarterPort(), generation), settings.directory(),
                        settings.placements(), settings.newWorkerNice() > 0));
            } catch (ErrnoException e) {
                log("failed to exec " + settings.argv().get(0) + ":" + e.getMessage());
                failures++;
                if (sleepUnlessStopping(settings.interval() * 1000)) {
                    return;
                }
                continue;
            }
            log("starting new worker " + pid);
            long spawnedNanos = System.nanoTime();
            boolean lowered = lowerWhileStarting(pid);
            if (settings.readyTimeout() > 0) {
                Outcome outcome = awaitReady(pid);
                if (outcome == Outcome.READY) {
                    log("new worker " + pid + " is ready");
                    started(pid, lowered);
                    return;
                }
                failures++;
                if (outcome == Outcome.STOPPING) {
                    oldWorkers.put(pid, generation); // not started, but shutdown must stop it too
                    return;
                }
                // At most one attempt per --interval, as without readiness: a program that exits at once (a typo in
                // its flags, a missing jar) must not be respawned in a tight loop.
                long spentMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - spawnedNanos);
                if (sleepUnlessStopping(settings.interval() * 1000 - spentMillis)) {
                    return;
                }
                continue;
            }
            boolean stopping = sleepUnlessStopping(settings.interval() * 1000);
            int status = reap(pid);
            if (status < 0) {
                started(pid, lowered);
                return;
            }
            log("new worker " + pid + " seems to have failed to start, exit status:" + status);
            failures++;
            if (stopping) {
                return;
            }
        }
    }

    private void started(long pid, boolean lowered) {
        if (lowered) {
            setAutogroupNice(pid, 0);
        }
        current = new Worker(pid, generation);
        lastRestartSeconds = nowSeconds();
        updateStatus();
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
            Autogroup.setNice(pid, nice);
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
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(settings.readyTimeout());
        while (true) {
            if (readyPids.remove(pid)) {
                return Outcome.READY;
            }
            if (signals.contains("TERM") || signals.contains("INT")) {
                return Outcome.STOPPING;
            }
            int status = reap(pid);
            if (status >= 0) {
                log("new worker " + pid + " seems to have failed to start, exit status:" + status);
                return Outcome.FAILED;
            }
            String event = poll(deadline);
            if (event == null) {
                log("new worker " + pid + " did not send READY=1 within " + settings.readyTimeout()
                        + " secs, sending TERM");
                signal(pid, Signals.TERM);
                oldWorkers.put(pid, generation);
                armKill(pid);
                updateStatus();
                return Outcome.FAILED;
            }
            absorb(event, pid);
        }
    }

    /** Stops every worker with the right signal and waits for all of them; Perl's {@code cleanup}. */
    private void shutDown(String trigger) {
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
            armKill(pid);
        }
        while (!oldWorkers.isEmpty()) {
            escalate();
            Exit exit = waitForChild();
            if (exit != null && oldWorkers.remove(exit.pid()) != null) {
                log("worker " + exit.pid() + " died, status:" + exit.status());
                updateStatus();
            }
        }
        log("exiting");
    }

    // ---- waiting ---------------------------------------------------------------------------------------------------

    /**
     * Perl's {@code wait}: returns one exited child, or null when a signal (or the one-second auto-restart tick)
     * ended the wait. Does not block while signals are queued.
     */
    private Exit waitForEvent() {
        drainEvents();
        Exit exit = reapAny();
        if (exit != null || !signals.isEmpty()) {
            return exit;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MAX_WAIT_MILLIS);
        while (true) {
            String event = poll(deadline);
            if (event == null) {
                return reapAny();
            }
            if (!event.equals(CHILD) && !event.startsWith(NotifyListener.READY_EVENT)) {
                queue(event);
                return reapAny();
            }
            exit = reapAny();
            if (exit != null) {
                return exit;
            }
        }
    }

    /**
     * Waits up to a second for a child to exit, queueing the signals that arrive meanwhile; null if none did, so
     * that the caller can look at its kill deadlines.
     */
    private Exit waitForChild() {
        Exit exit = reapAny();
        if (exit != null) {
            return exit;
        }
        String event = poll(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MAX_WAIT_MILLIS));
        if (event != null) {
            absorb(event, 0);
        }
        return reapAny();
    }

    /** Sleeps; TERM or INT end the sleep early (returning true), other signals are kept for the loop. */
    private boolean sleepUnlessStopping(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(0, millis));
        while (true) {
            if (signals.contains("TERM") || signals.contains("INT")) {
                return true;
            }
            String event = poll(deadline);
            if (event == null) {
                return false;
            }
            absorb(event, 0);
        }
    }

    /** The kill-old-delay is slept in full, whatever arrives (Perl 0.33, #44). */
    private void sleepIgnoringSignals(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (true) {
            String event = poll(deadline);
            if (event == null) {
                return;
            }
            absorb(event, 0);
        }
    }

    private String poll(long deadlineNanos) {
        long remaining = deadlineNanos - System.nanoTime();
        if (remaining <= 0) {
            return events.poll();
        }
        try {
            return events.poll(remaining, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("supervisor interrupted", e);
        }
    }

    private void drainEvents() {
        for (String event; (event = events.poll()) != null; ) {
            absorb(event, 0);
        }
    }

    /** Reaps one of our own children, if one has exited: the current worker, an old one, or the logger. */
    private Exit reapAny() {
        List<Long> candidates = new ArrayList<>();
        if (current != null) {
            candidates.add(current.pid());
        }
        candidates.addAll(oldWorkers.keySet());
        for (long pid : candidates) {
            int status = reap(pid);
            if (status >= 0) {
                return new Exit(pid, status);
            }
        }
        for (var it = otherChildren.iterator(); it.hasNext(); ) {
            long pid = it.next();
            int status = reap(pid);
            if (status >= 0) {
                it.remove();
                log("log command " + pid + " exited, status:" + status);
            }
        }
        return IS_INIT ? reapOrphans(candidates) : null;
    }

    /**
     * As PID 1 (in a container) every orphan of the namespace becomes our child and must be reaped, or zombies pile
     * up. A worker that exits in between is handed back to the loop.
     */
    private Exit reapOrphans(List<Long> workers) {
        for (long[] exited; (exited = Posix.reapAnyChild()) != null; ) {
            if (workers.contains(exited[0])) {
                return new Exit(exited[0], (int) exited[1]);
            }
            otherChildren.remove(exited[0]);
        }
        return null;
    }

    private static int reap(long pid) {
        try {
            return Posix.reap(pid);
        } catch (ErrnoException e) {
            // ECHILD: already gone. Report it as a plain exit rather than wait for ever.
            return 0;
        }
    }

    /**
     * Sorts an event: child exits are reaped where they are needed, a READY=1 counts only for the worker being
     * started ({@code awaited}, or none), and signals wait for the loop.
     */
    private void absorb(String event, long awaited) {
        if (event.equals(CHILD)) {
            return;
        }
        if (event.startsWith(NotifyListener.READY_EVENT)) {
            if (awaited > 0 && NotifyListener.isFrom(event, awaited)) {
                readyPids.add(awaited);
            }
            return;
        }
        queue(event);
    }

    /**
     * Keeps a signal for the loop. A HUP while one is already waiting is dropped: however many HUPs arrive during a
     * restart, they lead to one more restart, not one each (Perl queues them all).
     */
    private void queue(String signal) {
        if (signal.equals("HUP") && signals.contains("HUP")) {
            return;
        }
        signals.add(signal);
    }

    private void armKill(long pid) {
        if (settings.killTimeout() > 0) {
            killDeadlines.put(pid, System.nanoTime() + TimeUnit.SECONDS.toNanos(settings.killTimeout()));
        }
    }

    /** {@code --kill-timeout}: KILL for the signalled workers that are still there after it. */
    private void escalate() {
        long now = System.nanoTime();
        for (var it = killDeadlines.entrySet().iterator(); it.hasNext(); ) {
            var entry = it.next();
            if (now - entry.getValue() >= 0) {
                it.remove();
                if (oldWorkers.containsKey(entry.getKey())) {
                    log("worker " + entry.getKey() + " is still running " + settings.killTimeout()
                            + " secs after it was signalled, sending KILL");
                    signal(entry.getKey(), Signals.KILL);
                }
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

    private void updateStatus() {
        if (statusFile == null) {
            return;
        }
        SortedMap<Long, Long> pidByGeneration = new TreeMap<>();
        if (current != null) {
            pidByGeneration.put(current.generation(), current.pid());
        }
        oldWorkers.forEach((pid, gen) -> pidByGeneration.put(gen, pid));
        statusFile.write(pidByGeneration);
    }

    private void signal(long pid, int number) {
        try {
            Posix.kill(pid, number);
        } catch (ErrnoException e) {
            // The worker exited in the meantime; its exit is reaped and reported as usual.
        }
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

    private static long nowSeconds() {
        return System.currentTimeMillis() / 1000;
    }

    private static void log(String line) {
        System.err.println(line);
    }

    /** Workers still running when the supervisor must give up on a fatal error. */
    List<Long> livePids() {
        List<Long> pids = new ArrayList<>(oldWorkers.keySet());
        if (current != null) {
            pids.add(current.pid());
        }
        return pids;
    }
}

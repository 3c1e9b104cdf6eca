package org.serverstarter.superdaemon.server;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Signals;
import org.serverstarter.superdaemon.posix.SpawnRequest;

/**
 * An {@link Os} in which time passes only when the supervisor waits: it jumps to the next scripted happening (a
 * signal to start_server, a worker's READY=1 or exit) or to the supervisor's deadline. Workers are scripted by the
 * order they are spawned in; every signal the supervisor sends and every spawn is recorded.
 */
final class FakeOs implements Os {
    private static final int ECHILD = 10;
    private static final int ESRCH = 3;

    /** How a worker behaves; times in milliseconds from its spawn (or from the signal), -1 for never. */
    record Script(long readyAfter, long exitAfter, int exitStatus, long exitAfterTerm) {
        static Script serving() {
            return new Script(-1, -1, 0, 0);
        }

        Script ready(long after) {
            return new Script(after, exitAfter, exitStatus, exitAfterTerm);
        }

        Script exits(long after, int status) {
            return new Script(readyAfter, after, status, exitAfterTerm);
        }

        /** Exits that long after TERM (the drain); -1: ignores TERM. */
        Script drains(long after) {
            return new Script(readyAfter, exitAfter, exitStatus, after);
        }
    }

    private record Happening(long at, long order, Runnable effect) {
    }

    private long now = TimeUnit.SECONDS.toNanos(1_000);
    private long order;
    private long nextPid = 100;
    private final PriorityQueue<Happening> schedule = new PriorityQueue<>(
            (a, b) -> a.at() != b.at() ? Long.compare(a.at(), b.at()) : Long.compare(a.order(), b.order()));
    private final List<Event> due = new ArrayList<>();
    private final List<Script> scripts = new ArrayList<>();
    private Script defaultScript = Script.serving().ready(100).drains(100);
    private final Set<Long> running = new HashSet<>();
    private final Map<Long, Integer> exited = new HashMap<>();
    private final Map<Long, Script> scriptOf = new HashMap<>();
    final List<Long> spawned = new ArrayList<>();
    /** Every kill the supervisor sent, as {@code "TERM -101"} (negative: a process group). */
    final List<String> sent = new ArrayList<>();
    /** When each of {@link #sent} was sent, in {@link #elapsedMillis()}. */
    final List<Long> sentAt = new ArrayList<>();

    /** The scripts of the workers to come, in spawn order; later ones get the default. */
    FakeOs workers(Script... next) {
        scripts.addAll(List.of(next));
        return this;
    }

    FakeOs otherwise(Script script) {
        defaultScript = script;
        return this;
    }

    /** A signal to start_server, {@code millis} after the start of the test. */
    FakeOs signalAt(long millis, String name) {
        at(TimeUnit.SECONDS.toNanos(1_000) + TimeUnit.MILLISECONDS.toNanos(millis),
                () -> due.add(new Event.Signal(name)));
        return this;
    }

    /** Runs {@code action} (a look at the supervisor's status, say) {@code millis} after the start of the test. */
    FakeOs atMillis(long millis, Runnable action) {
        at(TimeUnit.SECONDS.toNanos(1_000) + TimeUnit.MILLISECONDS.toNanos(millis), action);
        return this;
    }

    /** Milliseconds since the start of the test, as the supervisor saw time pass. */
    long elapsedMillis() {
        return TimeUnit.NANOSECONDS.toMillis(now - TimeUnit.SECONDS.toNanos(1_000));
    }

    private void at(long atNanos, Runnable effect) {
        schedule.add(new Happening(atNanos, order++, effect));
    }

    private void after(long millis, Runnable effect) {
        at(now + TimeUnit.MILLISECONDS.toNanos(millis), effect);
    }

    private void exit(long pid, int status) {
        if (running.remove(pid)) {
            exited.put(pid, status);
            due.add(Event.CHILD_EXITED);
        }
    }

    @Override
    public long spawn(SpawnRequest request) {
        long pid = nextPid++;
        Script script = spawned.size() < scripts.size() ? scripts.get(spawned.size()) : defaultScript;
        spawned.add(pid);
        running.add(pid);
        scriptOf.put(pid, script);
        if (script.readyAfter() >= 0) {
            after(script.readyAfter(), () -> {
                if (running.contains(pid)) {
                    due.add(new Event.Ready(List.of(pid, 1L)));
                }
            });
        }
        if (script.exitAfter() >= 0) {
            after(script.exitAfter(), () -> exit(pid, script.exitStatus() << 8));
        }
        return pid;
    }

    @Override
    public int reap(long pid) throws ErrnoException {
        Integer status = exited.remove(pid);
        if (status != null) {
            return status;
        }
        if (running.contains(pid)) {
            return -1;
        }
        throw new ErrnoException(ECHILD, "No child processes");
    }

    @Override
    public long[] reapAnyChild() {
        return null;
    }

    @Override
    public void kill(long pid, int signal) throws ErrnoException {
        long target = Math.abs(pid);
        if (!running.contains(target)) {
            throw new ErrnoException(ESRCH, "No such process");
        }
        if (signal == 0) {
            return;
        }
        sent.add(name(signal) + " " + pid);
        sentAt.add(elapsedMillis());
        if (signal == Signals.KILL) {
            exit(target, Signals.KILL);
        } else if (signal == Signals.TERM && scriptOf.get(target).exitAfterTerm() >= 0) {
            after(scriptOf.get(target).exitAfterTerm(), () -> exit(target, 0));
        }
    }

    private static String name(int signal) {
        return switch (signal) {
            case Signals.TERM -> "TERM";
            case Signals.KILL -> "KILL";
            case Signals.HUP -> "HUP";
            default -> Integer.toString(signal);
        };
    }

    @Override
    public boolean isInit() {
        return false;
    }

    @Override
    public long nanoTime() {
        return now;
    }

    @Override
    public long currentSeconds() {
        return TimeUnit.NANOSECONDS.toSeconds(now);
    }

    @Override
    public long currentMillis() {
        return TimeUnit.NANOSECONDS.toMillis(now);
    }

    @Override
    public Event awaitEvent(long deadlineNanos) {
        while (due.isEmpty() && !schedule.isEmpty() && schedule.peek().at() - deadlineNanos <= 0) {
            Happening next = schedule.poll();
            now = Math.max(now, next.at());
            next.effect().run();
        }
        if (!due.isEmpty()) {
            return due.remove(0);
        }
        now = Math.max(now, deadlineNanos);
        return null;
    }

    @Override
    public void setAutogroupNice(long pid, int nice) {
        // No scheduler here.
    }

    boolean isRunning(long pid) {
        return running.contains(pid);
    }
}

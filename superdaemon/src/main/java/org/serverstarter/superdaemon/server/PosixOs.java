package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.SpawnRequest;

/**
 * The real {@link Os}: {@link Posix} for processes and signals, the JVM's clocks, and a queue that signal handlers
 * and the notify socket's thread post their events to.
 */
final class PosixOs implements Os {
    private static final boolean IS_INIT = ProcessHandle.current().pid() == 1;

    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();

    /** Where handlers post; they only queue, every decision is taken on the supervisor's thread. */
    void post(Event event) {
        events.add(event);
    }

    @Override
    public long spawn(SpawnRequest request) throws ErrnoException {
        return Posix.spawn(request);
    }

    @Override
    public int reap(long pid) throws ErrnoException {
        return Posix.reap(pid);
    }

    @Override
    public long[] reapAnyChild() {
        return Posix.reapAnyChild();
    }

    @Override
    public void kill(long pid, int signal) throws ErrnoException {
        Posix.kill(pid, signal);
    }

    @Override
    public boolean isInit() {
        return IS_INIT;
    }

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public long currentSeconds() {
        return System.currentTimeMillis() / 1000;
    }

    @Override
    public long currentMillis() {
        return System.currentTimeMillis();
    }

    @Override
    public Event awaitEvent(long deadlineNanos) {
        long remaining = deadlineNanos - System.nanoTime();
        try {
            return remaining <= 0 ? events.poll() : events.poll(remaining, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("supervisor interrupted", e);
        }
    }

    @Override
    public void setAutogroupNice(long pid, int nice) throws IOException {
        Autogroup.setNice(pid, nice);
    }
}

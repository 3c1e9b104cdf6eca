package org.serverstarter.adapters;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The graceful-stop state a framework adapter shares between its request path and its TERM handler. Once
 * {@link #begin()} is called, the adapter stops accepting and answers every request with {@code Connection: close},
 * so keep-alive clients reconnect to the next generation; requests already received still run to completion, and
 * {@link #awaitIdle} tells when the last one has.
 *
 * <p>Every {@link #requestStarted()} must be paired with one {@link #requestFinished()}, draining or not.
 *
 * <p>It also follows the connections this process accepted ({@link #connectionOpened}, {@link #connectionClosed}),
 * because a drain must wait for those to close rather than for a quiet spell without requests: a server that closes
 * an idle keep-alive connection can cross the request its client sends at that moment, which is then lost.
 */
public final class Drain {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private final Condition noConnections = lock.newCondition();
    private final Set<Object> connections = new HashSet<>();
    private volatile boolean draining;
    private int inFlight;

    public boolean isDraining() {
        return draining;
    }

    /** Switches to draining; idempotent. */
    public void begin() {
        draining = true;
    }

    public void requestStarted() {
        lock.lock();
        try {
            inFlight++;
        } finally {
            lock.unlock();
        }
    }

    public void requestFinished() {
        lock.lock();
        try {
            if (inFlight == 0) {
                throw new IllegalStateException("requestFinished() without a matching requestStarted()");
            }
            if (--inFlight == 0) {
                idle.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The number of requests started and not yet finished. */
    public int inFlight() {
        lock.lock();
        try {
            return inFlight;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until no request is in flight, at most {@code timeout}.
     *
     * @return true when idle, false when the timeout passed first
     */
    public boolean awaitIdle(Duration timeout) throws InterruptedException {
        long remaining = timeout.toNanos();
        lock.lock();
        try {
            while (inFlight > 0) {
                if (remaining <= 0) {
                    return false;
                }
                remaining = idle.awaitNanos(remaining);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Records a connection this process accepted; pair it with {@link #connectionClosed} (any object that identifies it). */
    public void connectionOpened(Object connection) {
        lock.lock();
        try {
            connections.add(connection);
        } finally {
            lock.unlock();
        }
    }

    /** Records that a connection closed; unknown or repeated ones are ignored. */
    public void connectionClosed(Object connection) {
        lock.lock();
        try {
            if (connections.remove(connection) && connections.isEmpty()) {
                noConnections.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The number of connections opened and not yet closed. */
    public int openConnections() {
        lock.lock();
        try {
            return connections.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until every connection is closed, or until {@code deadlineNanos} (a {@link System#nanoTime()} value).
     *
     * @return true when none is open
     */
    public boolean awaitNoConnections(long deadlineNanos) throws InterruptedException {
        lock.lock();
        try {
            while (!connections.isEmpty()) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                noConnections.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }
}

package org.serverstarter.adapters;

import java.time.Duration;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The graceful-stop state a framework adapter shares between its request path and its TERM handler. Once
 * {@link #begin()} is called, the adapter stops accepting and answers every request with {@code Connection: close},
 * so keep-alive clients reconnect to the next generation; requests already received still run to completion, and
 * {@link #awaitIdle} tells when the last one has.
 *
 * <p>Every {@link #requestStarted()} must be paired with one {@link #requestFinished()}, draining or not.
 */
public final class Drain {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
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
}

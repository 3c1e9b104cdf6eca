package org.serverstarter.adapters;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
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
    private long lastStartNanos = System.nanoTime();

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
            lastStartNanos = System.nanoTime();
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

    /**
     * Waits until no request is in flight and none has started for {@code quiet}, at most {@code timeout}. A
     * keep-alive client that sends its next request just as the server closes an idle connection loses it; waiting
     * for a quiet spell lets such a client get one more answer, carrying {@code Connection: close}, first.
     *
     * @return true when quiet, false when the timeout passed first
     */
    public boolean awaitQuiet(Duration quiet, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (true) {
                long now = System.nanoTime();
                long quietLeft = lastStartNanos + quiet.toNanos() - now;
                if (inFlight == 0 && quietLeft <= 0) {
                    return true;
                }
                long timeLeft = deadline - now;
                if (timeLeft <= 0) {
                    return false;
                }
                idle.awaitNanos(Math.min(timeLeft, inFlight == 0 ? quietLeft : timeLeft));
            }
        } finally {
            lock.unlock();
        }
    }
}

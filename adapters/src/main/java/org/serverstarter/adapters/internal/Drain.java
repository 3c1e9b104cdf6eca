package org.serverstarter.adapters.internal;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The graceful-stop state a framework adapter shares between its request path and its TERM handler. Once
 * {@link #begin} is called, the adapter stops accepting and answers requests with {@code Connection: close} (see
 * {@link #closesConnection}), so keep-alive clients reconnect to the next generation; requests already received
 * still run to completion, and {@link #awaitIdle} tells when the last one has.
 *
 * <p>The closes can be spread over a short time. Closing every connection at the first request after the TERM sends
 * all of a busy server's clients to the next generation within the same few milliseconds, and that generation,
 * however warmed up, then accepts, sets up and serves all of them at once: some of their requests took 5-20 ms where
 * they usually take under one (docs/benchmarks-zero-downtime.md, "The drain spreads its closes over 200 ms"). Spread over {@link #DEFAULT_SPREAD}, they
 * arrive a few at a time. (Envoy's "gradual" drain strategy spreads its drain in a similar way.)
 *
 * <p>Every {@link #requestStarted()} must be paired with one {@link #requestFinished()}, draining or not.
 *
 * <p>It also follows the connections this process accepted ({@link #connectionOpened}, {@link #connectionClosed}),
 * because a drain must wait for those to close rather than for a quiet spell without requests: a server that closes
 * an idle keep-alive connection can cross the request its client sends at that moment, which is then lost.
 */
public final class Drain {
    /** What the adapters spread the closes over unless the drain timeout is shorter. */
    public static final Duration DEFAULT_SPREAD = Duration.ofMillis(200);

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private final Condition noConnections = lock.newCondition();
    private final Set<Object> connections = new HashSet<>();
    private volatile boolean draining;
    // Written before draining is set, and read only after it was seen set.
    private long beganNanos;
    private long spreadNanos;
    // So that the same connection objects do not get the same moments in every process.
    private final long seed = ThreadLocalRandom.current().nextLong();
    private int inFlight;

    public boolean isDraining() {
        return draining;
    }

    /** {@link #DEFAULT_SPREAD}, or {@code timeout} when that is shorter: a drain must not spread past its deadline. */
    public static Duration spreadWithin(Duration timeout) {
        return timeout.compareTo(DEFAULT_SPREAD) < 0 ? timeout : DEFAULT_SPREAD;
    }

    /** Switches to draining with no spread: every response from now on closes its connection. Idempotent. */
    public void begin() {
        begin(Duration.ZERO);
    }

    /**
     * Switches to draining, spreading the connections' closes over {@code spread} (see {@link #closesConnection}).
     * Only the first call counts.
     */
    public void begin(Duration spread) {
        if (spread.isNegative()) {
            throw new IllegalArgumentException("negative spread: " + spread);
        }
        lock.lock();
        try {
            if (!draining) {
                spreadNanos = spread.toNanos();
                beganNanos = System.nanoTime();
                draining = true;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether the response that {@code connection} (any object that identifies it, the same at each of its requests)
     * is committing now is to close it ({@code Connection: close}): never before {@link #begin}, always once the
     * spread has passed, and during the spread once the connection's own moment has come. Those moments are spread
     * evenly over the spread, so the clients reconnect at an even pace whatever their request rates; a connection
     * whose moment has not come is asked again at its client's next request.
     */
    public boolean closesConnection(Object connection) {
        if (!draining) {
            return false;
        }
        long elapsed = System.nanoTime() - beganNanos;
        return elapsed >= spreadNanos || momentNanos(connection) < elapsed;
    }

    /** The connection's moment in [0, spread): its identity hash, scrambled with this drain's seed. */
    long momentNanos(Object connection) {
        long z = (System.identityHashCode(connection) ^ seed) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return Long.remainderUnsigned(z ^ (z >>> 31), Math.max(1, spreadNanos));
    }

    /** Waits until the spread has passed, after which every response closes its connection; at once if not draining. */
    public void awaitSpread() throws InterruptedException {
        if (draining) {
            TimeUnit.NANOSECONDS.sleep(beganNanos + spreadNanos - System.nanoTime());
        }
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

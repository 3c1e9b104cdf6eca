package org.serverstarter.samples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;

/**
 * Client load for the zero-downtime tests: one thread sends {@code GET /} on a keep-alive connection (reconnecting
 * when the server says {@code Connection: close}), another opens a new connection per request. Every exception and
 * every status other than 200 counts as a failure. Bounded: each thread stops at {@link #stop()}, after
 * {@code maxRequests} requests or after {@code maxDuration}, whichever comes first.
 */
final class LoadLoop implements AutoCloseable {
    private final InetSocketAddress address;
    private final long maxRequests;
    private final long deadlineNanos;
    private final AtomicLong ok = new AtomicLong();
    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private final Set<Long> generations = new ConcurrentSkipListSet<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopped;

    private LoadLoop(InetSocketAddress address, long maxRequests, Duration maxDuration) {
        this.address = address;
        this.maxRequests = maxRequests;
        this.deadlineNanos = System.nanoTime() + maxDuration.toNanos();
    }

    static LoadLoop start(InetSocketAddress address, long maxRequests, Duration maxDuration) {
        LoadLoop loop = new LoadLoop(address, maxRequests, maxDuration);
        loop.threads.add(new Thread(loop::keepAliveClient, "keep-alive client"));
        loop.threads.add(new Thread(loop::newConnectionClient, "new-connection client"));
        loop.threads.forEach(Thread::start);
        return loop;
    }

    long ok() {
        return ok.get();
    }

    List<String> failures() {
        synchronized (failures) {
            return List.copyOf(failures);
        }
    }

    /** The {@code X-Generation} values seen so far. */
    Set<Long> generations() {
        return Set.copyOf(generations);
    }

    void stop() {
        stopped = true;
        try {
            for (Thread t : threads) {
                // Each request has the client's 30 s read deadline, so this join is bounded too.
                t.join(Duration.ofSeconds(40).toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
    }

    private boolean running(long sent) {
        return !stopped && sent < maxRequests && System.nanoTime() - deadlineNanos < 0;
    }

    private void keepAliveClient() {
        HttpConnection connection = null;
        for (long sent = 0; running(sent); sent++) {
            try {
                if (connection == null) {
                    connection = HttpConnection.open(address);
                }
                record(connection.get("/"), "keep-alive");
                if (connection.isClosedByServer()) {
                    connection.close();
                    connection = null;
                }
            } catch (IOException | RuntimeException e) {
                failures.add("keep-alive request " + sent + ": " + e);
                connection = closeQuietly(connection);
            }
        }
        closeQuietly(connection);
    }

    private void newConnectionClient() {
        for (long sent = 0; running(sent); sent++) {
            try {
                record(HttpClient.get(address, "/"), "new connection");
            } catch (UncheckedIOException e) {
                failures.add("new-connection request " + sent + ": " + e.getMessage());
            }
        }
    }

    private void record(HttpResponse response, String kind) {
        if (response.status() != 200) {
            failures.add(kind + ": status " + response.status() + " " + response.body().strip());
            return;
        }
        String generation = response.header("x-generation");
        if (generation == null) {
            failures.add(kind + ": no X-Generation header");
            return;
        }
        generations.add(Long.parseLong(generation));
        ok.incrementAndGet();
    }

    private static HttpConnection closeQuietly(HttpConnection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (IOException ignored) {
                // closing a broken connection; the failure was already recorded
            }
        }
        return null;
    }
}

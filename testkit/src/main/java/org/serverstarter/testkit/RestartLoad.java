package org.serverstarter.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Client threads that keep requesting {@code /} across hot restarts, each in a pattern a real client has: keep-alive
 * connections that send back to back (as wrk does), keep-alive connections that sit idle between requests, and new
 * connections whose request follows a while after the connect. A keep-alive client reconnects when a response says
 * {@code Connection: close}. Every exception and every non-200 is a failure: the server closed a connection on which
 * the client had sent, or was about to send, a request it never answered. Bounded: each thread stops after 200000
 * requests or 100 s.
 *
 * <p>The worker's body for {@code /} must end with {@code pid=<its pid>} (optionally preceded by a space and other
 * words, and followed by a newline), which is how answers are attributed to generations.
 */
public final class RestartLoad implements AutoCloseable {
    /** One line per lost request: the client thread, the request number and what went wrong. */
    public final List<String> failures = new CopyOnWriteArrayList<>();
    /** Answers per response body (which names the pid, and the generation if the worker says it). */
    public final Map<String, Integer> answersByBody = new ConcurrentHashMap<>();
    /** {@code Connection: close} answers per response body: each one is a request served while its server drained. */
    public final Map<String, Integer> closesByBody = new ConcurrentHashMap<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final List<Thread> threads = new ArrayList<>();

    /**
     * @param keepAlivePausesMillis one keep-alive client per entry, pausing that long between its requests
     * @param lateSendDelaysMillis one client per entry that opens a new connection for each request and sends the
     *     request that long after connecting
     */
    public RestartLoad(InetSocketAddress address, List<Integer> keepAlivePausesMillis,
            List<Integer> lateSendDelaysMillis) {
        for (int pause : keepAlivePausesMillis) {
            threads.add(new Thread(() -> keepAlive(address, pause), "keep-alive-" + pause + "ms"));
        }
        for (int delay : lateSendDelaysMillis) {
            threads.add(new Thread(() -> lateSend(address, delay), "late-send-" + delay + "ms"));
        }
        threads.forEach(Thread::start);
    }

    /** Answers from the worker with this pid so far. */
    public long answersFrom(long pid) {
        return countFrom(answersByBody, pid);
    }

    /** {@code Connection: close} answers from the worker with this pid so far. */
    public long closesFrom(long pid) {
        return countFrom(closesByBody, pid);
    }

    private static long countFrom(Map<String, Integer> byBody, long pid) {
        String tag = "pid=" + pid;
        return byBody.entrySet().stream().filter(e -> {
            String body = e.getKey().strip();
            return body.equals(tag) || body.endsWith(" " + tag);
        }).mapToLong(Map.Entry::getValue).sum();
    }

    private void keepAlive(InetSocketAddress address, int pauseMillis) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(100);
        HttpConnection connection = null;
        try {
            for (int i = 0; i < 200_000 && System.nanoTime() < deadline; i++) {
                try {
                    if (connection == null) {
                        connection = HttpConnection.open(address);
                    }
                    record(connection.get("/"), i);
                    if (connection.isClosedByServer()) {
                        connection.close();
                        connection = null;
                    }
                } catch (IOException | RuntimeException e) {
                    failures.add(Thread.currentThread().getName() + " request " + i + ": " + e);
                    closeQuietly(connection);
                    connection = null;
                }
                if (pause(pauseMillis)) {
                    return;
                }
            }
        } finally {
            closeQuietly(connection);
        }
    }

    private void lateSend(InetSocketAddress address, int delayMillis) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(100);
        for (int i = 0; i < 200_000 && System.nanoTime() < deadline; i++) {
            try (HttpConnection connection = HttpConnection.open(address)) {
                if (pause(delayMillis)) {
                    return;
                }
                record(connection.get("/"), i);
            } catch (IOException | RuntimeException e) {
                failures.add(Thread.currentThread().getName() + " request " + i + ": " + e);
            }
        }
    }

    private void record(HttpResponse response, int i) {
        if (response.status() != 200) {
            failures.add(Thread.currentThread().getName() + " request " + i + ": " + response);
            return;
        }
        answersByBody.merge(response.body(), 1, Integer::sum);
        if ("close".equalsIgnoreCase(response.header("connection"))) {
            closesByBody.merge(response.body(), 1, Integer::sum);
        }
    }

    /** Waits {@code millis}, or less when stopped; true when stopped. */
    private boolean pause(int millis) {
        try {
            return stopped.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    private static void closeQuietly(HttpConnection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (IOException e) {
                // the client is done with it either way
            }
        }
    }

    /** Stops every client after its current request. */
    @Override
    public void close() throws InterruptedException {
        stopped.countDown();
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(40));
        }
    }
}

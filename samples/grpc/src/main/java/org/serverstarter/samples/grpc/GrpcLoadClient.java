package org.serverstarter.samples.grpc;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small load client for {@link SampleService}: {@code connections} threads, each on a channel (and so an HTTP/2
 * connection) of its own, call {@code Hello} and every fourth time {@code Ticks} ({@value #STREAM_TICKS} ticks
 * {@value #TICK_MILLIS} ms apart), back to back, until {@code maxCalls} calls in all, {@code maxTime}, or
 * {@link #stop()}. It counts the calls that failed and the streaming calls cut short (an error, or fewer ticks than
 * asked), and the generations that answered.
 *
 * <pre>{@code
 * java -cp grpc-sample.jar org.serverstarter.samples.grpc.GrpcLoadClient 127.0.0.1:8080 [CONNECTIONS [SECONDS [CALLS]]]
 * }</pre>
 * prints one summary line and exits 1 when a call failed (defaults: 4 connections, 30 s, 1,000,000 calls); TERM or
 * INT ends it early, with the same summary and status.
 */
public final class GrpcLoadClient implements AutoCloseable {
    static final int STREAM_TICKS = 5;
    static final long TICK_MILLIS = 20;
    /** Each call's deadline: long enough for a new generation's first, cold calls on a busy machine. */
    private static final Duration CALL_DEADLINE = Duration.ofSeconds(20);
    private static final Pattern GENERATION = Pattern.compile("^gen=(\\d+) ");

    private final List<ManagedChannel> channels = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong unaryOk = new AtomicLong();
    private final AtomicLong streamsOk = new AtomicLong();
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private final Set<Long> generations = ConcurrentHashMap.newKeySet();
    private final long maxCalls;
    private final long deadline;

    private GrpcLoadClient(long maxCalls, Duration maxTime) {
        this.maxCalls = maxCalls;
        this.deadline = System.nanoTime() + maxTime.toNanos();
    }

    /** Starts the load on {@code target} ({@code host:port}), bounded by {@code maxCalls} and {@code maxTime}. */
    public static GrpcLoadClient start(String target, int connections, long maxCalls, Duration maxTime) {
        GrpcLoadClient load = new GrpcLoadClient(maxCalls, maxTime);
        for (int i = 0; i < connections; i++) {
            ManagedChannel channel = channel(target);
            load.channels.add(channel);
            Thread thread = new Thread(() -> load.run(channel), "grpc-load-" + i);
            thread.setDaemon(true);
            load.threads.add(thread);
        }
        load.threads.forEach(Thread::start);
        return load;
    }

    /** A plaintext channel to {@code target}: one HTTP/2 connection at a time, renewed after each {@code GOAWAY}. */
    public static ManagedChannel channel(String target) {
        return NettyChannelBuilder.forTarget(target).usePlaintext().build();
    }

    private void run(ManagedChannel channel) {
        long n = 0;
        while (!stopped.get() && System.nanoTime() < deadline && calls.incrementAndGet() <= maxCalls) {
            if (n++ % 4 == 3) {
                stream(channel);
            } else {
                unary(channel, n);
            }
        }
    }

    private void unary(ManagedChannel channel, long n) {
        try {
            String reply = ClientCalls.blockingUnaryCall(channel, SampleService.HELLO, options(), "call " + n);
            seen(reply);
            unaryOk.incrementAndGet();
        } catch (StatusRuntimeException e) {
            failures.add("Hello: " + e.getStatus());
        }
    }

    private void stream(ManagedChannel channel) {
        int ticks = 0;
        try {
            Iterator<String> replies = ClientCalls.blockingServerStreamingCall(channel, SampleService.TICKS,
                    options(), STREAM_TICKS + " " + TICK_MILLIS);
            while (replies.hasNext()) {
                seen(replies.next());
                ticks++;
            }
        } catch (StatusRuntimeException e) {
            failures.add("Ticks cut short after " + ticks + " of " + STREAM_TICKS + " ticks: " + e.getStatus());
            return;
        }
        if (ticks == STREAM_TICKS) {
            streamsOk.incrementAndGet();
        } else {
            failures.add("Ticks ended after " + ticks + " of " + STREAM_TICKS + " ticks");
        }
    }

    private static CallOptions options() {
        return CallOptions.DEFAULT.withDeadlineAfter(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void seen(String reply) {
        generations.add(generationOf(reply));
    }

    /** The generation a reply names ({@code gen=G ...}). */
    public static long generationOf(String reply) {
        Matcher m = GENERATION.matcher(reply);
        if (!m.find()) {
            throw new IllegalStateException("a reply without its generation: " + reply);
        }
        return Long.parseLong(m.group(1));
    }

    public long unaryOk() {
        return unaryOk.get();
    }

    public long streamsOk() {
        return streamsOk.get();
    }

    /** One line per failed call, in the order they failed. */
    public List<String> failures() {
        return List.copyOf(failures);
    }

    public Set<Long> generations() {
        return Collections.unmodifiableSet(generations);
    }

    /** Stops starting calls, waits for those running (each bounded by its deadline), and closes the channels. */
    public void stop() throws InterruptedException {
        stopped.set(true);
        for (Thread thread : threads) {
            thread.join(CALL_DEADLINE.toMillis() * 2);
        }
        for (ManagedChannel channel : channels) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    /** The summary {@link #main} prints. */
    public String summary() {
        return "grpc-load: " + unaryOk() + " unary and " + streamsOk() + " streaming calls ok, " + failures.size()
                + " failed; generations " + new java.util.TreeSet<>(generations);
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length < 1 || args.length > 4) {
            System.err.println("usage: GrpcLoadClient HOST:PORT [CONNECTIONS [SECONDS [CALLS]]]");
            System.exit(2);
        }
        int connections;
        long seconds;
        long maxCalls;
        try {
            connections = args.length > 1 ? Integer.parseInt(args[1]) : 4;
            seconds = args.length > 2 ? Long.parseLong(args[2]) : 30;
            maxCalls = args.length > 3 ? Long.parseLong(args[3]) : 1_000_000;
        } catch (NumberFormatException e) {
            System.err.println("grpc-load: CONNECTIONS, SECONDS and CALLS are numbers: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (connections < 1 || seconds < 1 || maxCalls < 1) {
            System.err.println("grpc-load: CONNECTIONS, SECONDS and CALLS must be at least 1");
            System.exit(2);
        }
        GrpcLoadClient load = start(args[0], connections, maxCalls, Duration.ofSeconds(seconds));
        // TERM or INT ends the run early, with the same summary and status: a script stops it when its work is done.
        Thread report = new Thread(() -> {
            try {
                load.stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            load.failures().stream().limit(20).forEach(f -> System.err.println("grpc-load: failed: " + f));
            System.out.println(load.summary());
            System.out.flush();
            Runtime.getRuntime().halt(load.failures().isEmpty() ? 0 : 1);
        }, "grpc-load-report");
        Runtime.getRuntime().addShutdownHook(report);
        for (Thread thread : load.threads) {
            thread.join();
        }
        System.exit(0);
    }
}

package org.serverstarter.samples.grpc;

import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The sample's gRPC service, {@code sample.Sample}, with hand-written method descriptors and plain UTF-8 strings as
 * messages (no protoc), shared by the server and {@link GrpcLoadClient}. Every reply starts with {@code gen=G}, the
 * generation that sent it.
 *
 * <ul>
 *   <li>{@code Hello} (unary): {@code "NAME"} → {@code "gen=G hello NAME"}.</li>
 *   <li>{@code Ticks} (server-streaming): {@code "COUNT INTERVAL_MS"} → {@code COUNT} replies
 *       {@code "gen=G tick I/COUNT"}, one every {@code INTERVAL_MS}. With {@code COUNT} 0 it ticks until this
 *       generation begins to drain, then sends {@code "gen=G end: draining"} and ends normally: a watch that spans
 *       the restart and ends cleanly.</li>
 * </ul>
 */
public final class SampleService {
    public static final String NAME = "sample.Sample";
    public static final MethodDescriptor.Marshaller<String> UTF8 = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };
    public static final MethodDescriptor<String, String> HELLO = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(NAME + "/Hello")
            .setRequestMarshaller(UTF8).setResponseMarshaller(UTF8).build();
    public static final MethodDescriptor<String, String> TICKS = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING).setFullMethodName(NAME + "/Ticks")
            .setRequestMarshaller(UTF8).setResponseMarshaller(UTF8).build();
    /** The longest {@code Ticks} call it takes: {@code COUNT * INTERVAL_MS}, at most 30 s. */
    static final long MAX_TICKS_MILLIS = 30_000;

    private final String generation;
    private final ScheduledExecutorService timer;
    private final BooleanSupplier draining;

    /**
     * @param generation what every reply names
     * @param timer where the ticks are scheduled (not slept: no thread waits between two ticks)
     * @param draining whether this generation has begun to drain, which ends the {@code COUNT} 0 watches
     */
    public SampleService(long generation, ScheduledExecutorService timer, BooleanSupplier draining) {
        this.generation = "gen=" + generation;
        this.timer = timer;
        this.draining = draining;
    }

    public ServerServiceDefinition definition() {
        return ServerServiceDefinition.builder(NAME)
                .addMethod(HELLO, ServerCalls.asyncUnaryCall((name, reply) -> {
                    reply.onNext(generation + " hello " + name);
                    reply.onCompleted();
                }))
                .addMethod(TICKS, ServerCalls.asyncServerStreamingCall(this::ticks))
                .build();
    }

    private void ticks(String request, StreamObserver<String> reply) {
        String[] words = request.trim().split("\\s+");
        int count;
        long interval;
        try {
            count = Integer.parseInt(words[0]);
            interval = Long.parseLong(words[1]);
        } catch (RuntimeException e) {
            reply.onError(Status.INVALID_ARGUMENT.withDescription("Ticks takes \"COUNT INTERVAL_MS\", not \""
                    + request + "\"").asRuntimeException());
            return;
        }
        if (count < 0 || interval < 1 || (long) count * interval > MAX_TICKS_MILLIS) {
            reply.onError(Status.INVALID_ARGUMENT.withDescription("Ticks: COUNT >= 0, INTERVAL_MS >= 1, and at most "
                    + MAX_TICKS_MILLIS + " ms in all").asRuntimeException());
            return;
        }
        tick((ServerCallStreamObserver<String>) reply, 1, count, interval);
    }

    private void tick(ServerCallStreamObserver<String> reply, int i, int count, long interval) {
        timer.schedule(() -> {
            if (reply.isCancelled()) {
                return;
            }
            if (count == 0 && draining.getAsBoolean()) {
                reply.onNext(generation + " end: draining");
                reply.onCompleted();
                return;
            }
            reply.onNext(generation + " tick " + i + "/" + (count == 0 ? "until draining" : count));
            if (i == count) {
                reply.onCompleted();
            } else {
                tick(reply, i + 1, count, interval);
            }
        }, interval, TimeUnit.MILLISECONDS);
    }
}

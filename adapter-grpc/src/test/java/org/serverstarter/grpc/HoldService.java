package org.serverstarter.grpc;

import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * A gRPC service for the tests, with hand-written descriptors (no protoc): {@code test.Hold/Echo} answers its request,
 * and {@code test.Hold/Hold}, server-streaming, sends {@code "started"} and then {@code "released"} once
 * {@link #release()} was called, and ends.
 */
final class HoldService {
    static final String NAME = "test.Hold";
    static final MethodDescriptor.Marshaller<String> UTF8 = new MethodDescriptor.Marshaller<>() {
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
    static final MethodDescriptor<String, String> ECHO = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(NAME + "/Echo")
            .setRequestMarshaller(UTF8).setResponseMarshaller(UTF8).build();
    static final MethodDescriptor<String, String> HOLD = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING).setFullMethodName(NAME + "/Hold")
            .setRequestMarshaller(UTF8).setResponseMarshaller(UTF8).build();

    private final CountDownLatch held = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);

    ServerServiceDefinition definition() {
        return ServerServiceDefinition.builder(NAME)
                .addMethod(ECHO, ServerCalls.asyncUnaryCall((request, response) -> {
                    response.onNext(request);
                    response.onCompleted();
                }))
                .addMethod(HOLD, ServerCalls.asyncServerStreamingCall(this::hold))
                .build();
    }

    private void hold(String request, StreamObserver<String> response) {
        response.onNext("started");
        held.countDown();
        // Ends on its own thread: the call's executor thread returns at once, as a real handler's would.
        Thread finisher = new Thread(() -> {
            try {
                released.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            response.onNext("released");
            response.onCompleted();
        }, "hold-" + request);
        finisher.setDaemon(true);
        finisher.start();
    }

    /** Whether a {@code Hold} call has sent its first message. */
    boolean isHolding() {
        return held.getCount() == 0;
    }

    void release() {
        released.countDown();
    }
}

package org.serverstarter.samples;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.serverstarter.adapters.SlowStart;

/**
 * The slow-start step of a new generation: warm up, then retire the older generations.
 *
 * <p>The warm-up goes to a private loopback port of this process, not to the inherited socket: a request sent to the
 * shared socket could just as well be accepted by the old generation, which is still serving.
 */
public final class Readiness {
    /** Enough for the JIT to compile the request path's hottest methods at C1 and for lazy class loading to finish. */
    private static final int WARM_UP_REQUESTS = 50;

    private Readiness() {}

    /**
     * Sends {@value #WARM_UP_REQUESTS} requests for {@code /} to {@code privateAddress}, each on a new connection.
     *
     * @throws IllegalStateException when one fails: the app is not ready, so it must not retire anyone
     */
    public static void warmUp(InetSocketAddress privateAddress) {
        byte[] request = ("GET / HTTP/1.1\r\nHost: warm-up\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < WARM_UP_REQUESTS; i++) {
            try (Socket socket = new Socket()) {
                socket.connect(privateAddress, 5_000);
                socket.setSoTimeout(10_000);
                OutputStream out = socket.getOutputStream();
                out.write(request);
                out.flush();
                InputStream in = socket.getInputStream();
                String response = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
                if (!response.startsWith("HTTP/1.1 200")) {
                    throw new IllegalStateException("warm-up request " + i + " got: "
                            + response.lines().findFirst().orElse("(nothing)"));
                }
            } catch (IOException e) {
                throw new IllegalStateException("warm-up request " + i + " to " + privateAddress + " failed: " + e, e);
            }
        }
    }

    /** A loopback listener of the app, opened only for the warm-up. */
    public interface WarmUpPort {
        InetSocketAddress open() throws Exception;

        void close() throws Exception;
    }

    /**
     * When slow start is on: opens {@code port}, warms up through it, closes it, then TERMs the generations older
     * than this one, which drain. A no-op when slow start is off.
     *
     * <p>If the warm-up fails this process exits with status 1 (its drain hook runs): a generation that is not ready
     * must neither retire the old one nor linger beside it. The superdaemon then starts another.
     */
    public static void slowStart(Settings settings, String app, WarmUpPort port) {
        if (settings.slowStartStatusFile().isEmpty()) {
            return;
        }
        try {
            InetSocketAddress address = port.open();
            try {
                warmUp(address);
            } finally {
                port.close();
            }
        } catch (Exception e) {
            System.err.println(app + ": warm-up failed, exiting without retiring the older generations: " + e);
            System.exit(1);
        }
        List<Long> retired = SlowStart.retireOlderGenerations(settings.slowStartStatusFile().get(),
                settings.generation(), "TERM");
        System.out.println(app + ": warmed up; sent TERM to the older generations " + retired);
    }
}

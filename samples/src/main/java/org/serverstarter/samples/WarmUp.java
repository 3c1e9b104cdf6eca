package org.serverstarter.samples;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.SlowStart;

/**
 * What a new generation does between starting its server and replacing the old generation: warm up, then say so.
 *
 * <p>The first requests a fresh JVM serves are slow: every class on the request path is loaded and verified on first
 * use, and the code runs in the interpreter until the JIT has compiled it. The warm-up pays that cost with
 * {@value #WARM_UP_REQUESTS} requests of its own, sent to a private loopback port of this process, not to the
 * inherited socket: a request sent to the shared socket could just as well be accepted by the old generation.
 *
 * <p>Then the generation announces that it is ready, in whichever way its superdaemon listens: {@code READY=1} to
 * {@code NOTIFY_SOCKET} ({@code start_server --readiness=notify}; the app called {@link Readiness#deferReady()} so
 * the adapter does not send it earlier), and with {@code SLOW_START} (for superdaemons without readiness, such as
 * Perl's) by TERMing the older generations listed in the status file itself.
 */
public final class WarmUp {
    /** Enough for the JIT to compile the request path's hottest methods at C1 and for lazy class loading to finish. */
    private static final int WARM_UP_REQUESTS = 50;

    private WarmUp() {}

    /** A loopback listener of the app, opened only for the warm-up. */
    public interface Port {
        InetSocketAddress open() throws Exception;

        void close() throws Exception;
    }

    /**
     * Opens {@code port}, warms up through it, closes it, then sends {@code READY=1} (when the superdaemon listens
     * for it) and, with slow start, TERMs the generations older than this one, which drain.
     *
     * <p>If the warm-up fails this process exits with status 1 (its drain hook runs): a generation that is not ready
     * must neither be announced nor retire the old one, nor linger beside it. The superdaemon then starts another.
     */
    public static void thenAnnounce(Settings settings, String app, Port port) {
        long start = System.nanoTime();
        try {
            InetSocketAddress address = port.open();
            try {
                send(address);
            } finally {
                port.close();
            }
        } catch (Exception e) {
            System.err.println(app + ": warm-up failed, exiting without replacing the older generations: " + e);
            System.exit(1);
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.println(app + ": generation " + settings.generation() + " warmed up in " + millis + " ms");
        Readiness.notifyReady();
        if (settings.slowStartStatusFile().isPresent()) {
            List<Long> retired = SlowStart.retireOlderGenerations(settings.slowStartStatusFile().get(),
                    settings.generation(), "TERM");
            System.out.println(app + ": generation " + settings.generation() + " sent TERM to the older generations "
                    + retired);
        }
    }

    /**
     * Sends {@value #WARM_UP_REQUESTS} requests for {@code /} to {@code address}, each on a new connection.
     *
     * @throws IllegalStateException when one fails: the app is not ready
     */
    static void send(InetSocketAddress address) {
        byte[] request = ("GET / HTTP/1.1\r\nHost: warm-up\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < WARM_UP_REQUESTS; i++) {
            try (Socket socket = new Socket()) {
                socket.connect(address, 5_000);
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
                throw new IllegalStateException("warm-up request " + i + " to " + address + " failed: " + e, e);
            }
        }
    }
}

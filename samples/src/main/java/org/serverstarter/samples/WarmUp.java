package org.serverstarter.samples;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.net.SocketFactory;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.SlowStart;

/**
 * What a new generation does between starting its server and replacing the old generation: warm up, then say so.
 *
 * <p>The first requests a fresh JVM serves are slow: every class on the request path is loaded and verified on first
 * use, and the code runs in the interpreter until the JIT has compiled it, which C1 does for a method once it has
 * run a couple of hundred times. The warm-up pays that cost with {@value #REQUESTS} requests of its own on
 * keep-alive connections, reconnecting every {@value #REQUESTS_PER_CONNECTION} requests: the clients it is about to
 * take over all reconnect to it at once when the old generation drains, so accepting and setting up a connection
 * must be compiled too, not only serving a request on one. They go to a private loopback port of this process, not
 * to the inherited socket: a request sent to the shared socket could just as well be accepted by the old generation.
 * With a few dozen requests, or with only a few dozen connections, the new generation met its first real clients
 * still interpreting part of that path. One client, not several: the warm-up takes CPU from the generation still
 * serving, and spread over one core rather than all of them it slows that generation's requests less
 * (docs/benchmarks-zero-downtime.md, "The warm-up").
 *
 * <p>Last, a full garbage collection: the warm-up leaves the young generation full of objects that are still
 * reachable (pooled buffers, caches, the server's own structures), and the first young collection under real load
 * would copy all of them, a pause of several milliseconds at the moment the generation takes over.
 *
 * <p>Then the generation announces that it is ready, in whichever way its superdaemon listens: {@code READY=1} to
 * {@code NOTIFY_SOCKET} ({@code start_server --readiness=notify}; the app called {@link Readiness#deferReady()} so
 * the adapter does not send it earlier), and with {@code SLOW_START} (for superdaemons without readiness, such as
 * Perl's) by TERMing the older generations listed in the status file itself.
 */
public final class WarmUp {
    static final int REQUESTS = 3_000;
    static final int REQUESTS_PER_CONNECTION = 10;
    /**
     * A TLS handshake costs a fresh JVM about as much as a hundred requests: 300 of them made the warm-up last 5-12 s
     * on a busy box, 30 about twice as long as without TLS (samples/README.md, "HTTPS and HTTP/2"), and 30 still
     * compile the handshake's path.
     */
    static final int REQUESTS_PER_TLS_CONNECTION = 100;
    private static final byte[] REQUEST = "GET / HTTP/1.1\r\nHost: warm-up\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

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
            // Under SAMPLE_TLS the private port serves TLS as the shared one does, so the handshake and the TLS record
            // layer are warmed up too (over HTTP/1.1: this client speaks no HTTP/2).
            SocketFactory sockets = settings.tls().isPresent()
                    ? settings.tls().get().clientContext().getSocketFactory() : SocketFactory.getDefault();
            int perConnection = settings.tls().isPresent() ? REQUESTS_PER_TLS_CONNECTION : REQUESTS_PER_CONNECTION;
            InetSocketAddress address = port.open();
            try {
                send(address, sockets, perConnection);
            } finally {
                port.close();
            }
            System.gc();
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
     * Sends {@value #REQUESTS} requests for {@code /} to {@code address}, {@code perConnection} per connection made
     * by {@code sockets}.
     *
     * @throws IllegalStateException when one fails: the app is not ready
     */
    static void send(InetSocketAddress address, SocketFactory sockets, int perConnection) {
        for (int sent = 0; sent < REQUESTS; sent += perConnection) {
            sendOnOneConnection(address, sockets, perConnection);
        }
    }

    private static void sendOnOneConnection(InetSocketAddress address, SocketFactory sockets, int requests) {
        try (Socket socket = sockets.createSocket()) {
            socket.setTcpNoDelay(true);
            socket.connect(address, 5_000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = new BufferedInputStream(socket.getInputStream());
            for (int i = 0; i < requests; i++) {
                out.write(REQUEST);
                out.flush();
                readResponse(in);
            }
        } catch (IOException e) {
            throw new IllegalStateException("warm-up request to " + address + " failed: " + e, e);
        }
    }

    /** Reads one response, which must be a 200 with a Content-Length, as every sample's {@code GET /} is. */
    private static void readResponse(InputStream in) throws IOException {
        String head = readHead(in);
        if (!head.startsWith("HTTP/1.1 200")) {
            throw new IllegalStateException("warm-up request got: " + head.lines().findFirst().orElse("(nothing)"));
        }
        long length = -1;
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
                length = Long.parseLong(line.substring(colon + 1).trim());
            }
        }
        if (length < 0) {
            throw new IllegalStateException("warm-up response without Content-Length: " + head);
        }
        in.skipNBytes(length);
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int ends = 0; // how much of the blank line's CR LF CR LF has been read
        while (ends < 4) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("connection closed after " + head.length() + " bytes of a response");
            }
            head.append((char) b);
            ends = b == (ends % 2 == 0 ? '\r' : '\n') ? ends + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString();
    }
}

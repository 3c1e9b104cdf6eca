package org.serverstarter.samples;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.List;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.SlowStart;
import org.serverstarter.adapters.internal.WarmUpClient;

/**
 * What a new generation does between starting its server and replacing the old generation: warm up, then say so.
 *
 * <p>The first requests a fresh JVM serves are slow: every class on the request path is loaded and verified on first
 * use, and the code runs in the interpreter until the JIT has compiled it, which C1 does for a method once it has
 * run a couple of hundred times. The warm-up ({@link WarmUpClient}) pays that cost with {@value #REQUESTS} requests of
 * its own on keep-alive connections, reconnecting every {@value #REQUESTS_PER_CONNECTION} requests, to a private
 * loopback port of this process, then runs a full GC. With a few dozen requests, or with only a few dozen
 * connections, the new generation met its first real clients still interpreting part of that path. One client, not
 * several: the warm-up takes CPU from the generation still serving, and spread over one core rather than all of them
 * it slows that generation's requests less (docs/benchmarks-zero-downtime.md, "The warm-up").
 *
 * <p>Then the generation announces that it is ready, in whichever way its superdaemon listens: {@code READY=1} to
 * {@code NOTIFY_SOCKET} ({@code start_server --readiness=notify}; the app called {@link Readiness#deferReady()} so
 * the adapter does not send it earlier), and with {@code SLOW_START} (for superdaemons without readiness, such as
 * Perl's) by TERMing the older generations listed in the status file itself.
 */
public final class WarmUp {
    private static final int REQUESTS = 3_000;
    private static final int REQUESTS_PER_CONNECTION = 10;
    /**
     * A TLS handshake costs a fresh JVM about as much as a hundred requests: 300 of them made the warm-up last 5-12 s
     * on a busy box, 30 about twice as long as without TLS (samples/README.md, "HTTPS and HTTP/2"), and 30 still
     * compile the handshake's path.
     */
    private static final int REQUESTS_PER_TLS_CONNECTION = 100;

    private WarmUp() {}

    /**
     * Opens {@code port}, warms up through it, closes it, then sends {@code READY=1} (when the superdaemon listens
     * for it) and, with slow start, TERMs the generations older than this one, which drain.
     *
     * <p>If the warm-up fails this process exits with status 1 (its drain hook runs): a generation that is not ready
     * must neither be announced nor retire the old one, nor linger beside it. The superdaemon then starts another.
     */
    public static void thenAnnounce(Settings settings, String app, WarmUpClient.Port port) {
        long start = System.nanoTime();
        try {
            // Under SAMPLE_TLS the private port serves TLS as the shared one does, so the handshake and the TLS record
            // layer are warmed up too (over HTTP/1.1: this client speaks no HTTP/2).
            WarmUpClient client = settings.tls().isPresent()
                    ? new WarmUpClient("/", REQUESTS, REQUESTS_PER_TLS_CONNECTION,
                            settings.tls().get().clientContext().getSocketFactory())
                    : new WarmUpClient("/", REQUESTS, REQUESTS_PER_CONNECTION);
            client.warmUp(port);
        } catch (WarmUpClient.Failure e) {
            System.err.println(app + ": " + e.getMessage() + "; exiting without replacing the older generations");
            System.exit(1);
        } catch (GeneralSecurityException | IOException e) {
            System.err.println(app + ": warm-up: cannot trust the sample's own certificate: " + e
                    + "; exiting without replacing the older generations");
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
}

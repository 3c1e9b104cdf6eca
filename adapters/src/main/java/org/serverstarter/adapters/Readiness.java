package org.serverstarter.adapters;

import org.serverstarter.adapters.internal.Notify;

/**
 * Tells the superdaemon how this worker is doing, over the {@code sd_notify} protocol: when the environment has
 * {@code NOTIFY_SOCKET} (a unix datagram socket's path, or an abstract name starting with {@code @}), each call sends
 * one datagram of {@code KEY=VALUE} lines there. A superdaemon that gates restarts on readiness counts a new
 * generation as started when it sends {@code READY=1}, and only then retires the old one. systemd's
 * {@code Type=notify} services speak the same protocol.
 *
 * <p>The framework adapters call this for you: they send {@code READY=1} once the server accepts on its sockets, and
 * {@code STOPPING=1} when the drain starts. An app that must warm up first (caches, JIT, connection pools) calls
 * {@link #deferReady()} before starting its server and {@link #notifyReady()} when it is done; in between, its
 * inherited sockets accept nothing:
 *
 * <pre>{@code
 * Readiness.deferReady();
 * server.start();
 * warmUp();
 * Readiness.notifyReady();
 * }</pre>
 *
 * Without {@code NOTIFY_SOCKET} (Perl's {@code start_server}, or no superdaemon) every method sends nothing and returns
 * false ({@link #notifyReady()} still lets deferred sockets accept). A failed send is reported with one line on standard error and never throws: readiness is advice to the
 * superdaemon, not a reason for the app to fail. The receiver identifies the sender by its pid, so send from the
 * worker process itself, not from a helper process it starts.
 *
 * <p>The first send loads libc through jnr-ffi; JDK 24 and later print a warning about that unless the JVM runs with
 * {@code --enable-native-access=ALL-UNNAMED}.
 */
public final class Readiness {
    private Readiness() {}

    /**
     * Sends {@code READY=1}: this worker serves and may replace the previous generation. After {@link #deferReady()},
     * the inherited sockets start accepting first.
     */
    public static boolean notifyReady() {
        return Notify.ready();
    }

    /** Sends {@code STOPPING=1}: this worker has begun to shut down. */
    public static boolean notifyStopping() {
        return Notify.send("STOPPING=1");
    }

    /**
     * Sends {@code STATUS=status}, a one-line description of what the worker is doing for the superdaemon to log or
     * show. Line breaks in {@code status} become spaces, since each line of a notification is one {@code KEY=VALUE}.
     */
    public static boolean notifyStatus(String status) {
        return Notify.send("STATUS=" + status.replaceAll("\\R", " "));
    }

    /**
     * Stops the framework adapters from sending {@code READY=1} themselves: the app calls {@link #notifyReady()} when
     * it is really ready. Call it before the server starts.
     *
     * <p>Until then the server takes no connection on the inherited sockets: clients wait in the listening socket's
     * backlog, where the generation still serving takes them (or, for the first generation, this one once ready), so
     * none reaches a JVM that is still warming up. Connectors of the app's own (a private warm-up port) serve at once.
     * An app that defers must therefore call {@link #notifyReady()} under every superdaemon, Perl's too, whether or
     * not {@code NOTIFY_SOCKET} is set.
     */
    public static void deferReady() {
        Notify.defer();
    }
}

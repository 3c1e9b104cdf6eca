package org.serverstarter.adapters.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The state behind {@code Readiness}: whether the app deferred {@code READY=1}, what waits for it, and the one send
 * path that never throws. The framework adapters call {@link #serving()} once they accept.
 */
public final class Notify {
    private static final List<Runnable> WAITING = new ArrayList<>();
    private static boolean deferred;
    private static boolean ready;

    private Notify() {}

    /** The app sends {@code READY=1} itself; {@link #serving()} then sends nothing. */
    public static synchronized void defer() {
        deferred = true;
    }

    /**
     * Runs {@code open} once this worker may take connections on the inherited sockets: at once, unless the app
     * deferred {@code READY=1} and has not sent it yet; then when it does ({@link #ready()}), before the send. A
     * framework adapter calls it when its server has started, with what makes its sockets accept: until then clients
     * wait in the listening socket's backlog, where the generation still serving takes them.
     */
    public static void whenReady(Runnable open) {
        synchronized (Notify.class) {
            if (deferred && !ready) {
                WAITING.add(open);
                return;
            }
        }
        open.run();
    }

    /**
     * What {@code Readiness.notifyReady()} does: lets the adapters' sockets accept ({@link #whenReady}), then sends
     * {@code READY=1}, so that the superdaemon retires the old generation only once this one takes connections.
     */
    public static boolean ready() {
        List<Runnable> opening;
        synchronized (Notify.class) {
            ready = true;
            opening = new ArrayList<>(WAITING);
            WAITING.clear();
        }
        opening.forEach(Runnable::run);
        return send("READY=1");
    }

    /**
     * What a framework adapter calls once every socket accepts: sends {@code READY=1} unless the app deferred it.
     *
     * @return true when {@code READY=1} was sent
     */
    public static boolean serving() {
        synchronized (Notify.class) {
            if (deferred) {
                return false;
            }
        }
        return send("READY=1");
    }

    /** Sends {@code message} to {@code NOTIFY_SOCKET}; false, and silent, when that is unset. */
    public static boolean send(String message) {
        return send(System.getenv(Contract.NOTIFY_SOCKET_VARIABLE), message);
    }

    /**
     * Sends {@code message} to {@code address}, the value of {@code NOTIFY_SOCKET}; false when it is unset, or when the
     * superdaemon that listened there is gone ({@link Lifeline}), which a line would only repeat. A failure
     * is one line on standard error, never an exception: readiness is advice to the superdaemon, not a reason for the
     * app to fail.
     */
    public static boolean send(String address, String message) {
        if (address == null || address.isEmpty() || Lifeline.superdaemonGone()) {
            return false;
        }
        try {
            NotifySocket.send(address, message);
            return true;
        } catch (IOException | RuntimeException e) {
            System.err.println("Readiness: cannot send " + message + " to " + Contract.NOTIFY_SOCKET_VARIABLE + "="
                    + address + ": " + e.getMessage());
            return false;
        }
    }
}

package org.serverstarter.adapters.internal;

import java.io.IOException;

/**
 * The state behind {@code Readiness}: whether the app deferred {@code READY=1}, and the one send path that never
 * throws. The framework adapters call {@link #serving()} once they accept.
 */
public final class Notify {
    private static volatile boolean deferred;

    private Notify() {}

    /** The app sends {@code READY=1} itself; {@link #serving()} then sends nothing. */
    public static void defer() {
        deferred = true;
    }

    /**
     * What a framework adapter calls once every socket accepts: sends {@code READY=1} unless the app deferred it.
     *
     * @return true when {@code READY=1} was sent
     */
    public static boolean serving() {
        return !deferred && send("READY=1");
    }

    /** Sends {@code message} to {@code NOTIFY_SOCKET}; false, and silent, when that is unset. */
    public static boolean send(String message) {
        return send(System.getenv(Contract.NOTIFY_SOCKET_VARIABLE), message);
    }

    /**
     * Sends {@code message} to {@code address}, the value of {@code NOTIFY_SOCKET}; false when it is unset. A failure
     * is one line on standard error, never an exception: readiness is advice to the superdaemon, not a reason for the
     * app to fail.
     */
    public static boolean send(String address, String message) {
        if (address == null || address.isEmpty()) {
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

package org.serverstarter.adapters.internal;

import org.serverstarter.adapters.StarterException;

/** The environment variables of the Server::Starter contract, and the one shape of an error about one of its entries. */
public final class Contract {
    public static final String PORT_VARIABLE = "SERVER_STARTER_PORT";
    public static final String GENERATION_VARIABLE = "SERVER_STARTER_GENERATION";
    public static final String NOTIFY_SOCKET_VARIABLE = "NOTIFY_SOCKET";

    private Contract() {}

    /** {@code SERVER_STARTER_PORT entry "ENTRY": PROBLEM}, the line every adapter prints for a broken entry. */
    public static StarterException entryError(Object entry, String problem) {
        return new StarterException(PORT_VARIABLE + " entry \"" + entry + "\": " + problem);
    }

    /** {@link #entryError(Object, String)}, keeping {@code cause} for code that inspects it (it is never printed). */
    public static StarterException entryError(Object entry, String problem, Throwable cause) {
        return new StarterException(PORT_VARIABLE + " entry \"" + entry + "\": " + problem, cause);
    }
}

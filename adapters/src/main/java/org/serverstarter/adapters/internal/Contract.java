package org.serverstarter.adapters.internal;

import java.util.List;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;

/** The environment variables of the Server::Starter contract, and the one shape of an error about one of its entries. */
public final class Contract {
    public static final String PORT_VARIABLE = "SERVER_STARTER_PORT";
    public static final String GENERATION_VARIABLE = "SERVER_STARTER_GENERATION";
    public static final String NOTIFY_SOCKET_VARIABLE = "NOTIFY_SOCKET";

    private Contract() {}

    /**
     * The sockets a server adapter serves: {@code starter}'s, checked. A superdaemon given no {@code --port} and no
     * {@code --path} sets {@code SERVER_STARTER_PORT} to the empty string; a server then has nothing to serve, and
     * binding a port of its own instead would not survive a restart, so that is refused in one line.
     *
     * @throws StarterException when the variable names no socket or an entry is malformed
     */
    public static List<InheritedSocket> socketsToServe(ServerStarter starter) {
        List<InheritedSocket> sockets = starter.sockets();
        if (sockets.isEmpty()) {
            throw new StarterException(PORT_VARIABLE + " is set but names no socket: start_server was given no --port"
                    + " and no --path");
        }
        return sockets;
    }

    /** {@code SERVER_STARTER_PORT entry "ENTRY": PROBLEM}, the line every adapter prints for a broken entry. */
    public static StarterException entryError(Object entry, String problem) {
        return new StarterException(PORT_VARIABLE + " entry \"" + entry + "\": " + problem);
    }

    /** {@link #entryError(Object, String)}, keeping {@code cause} for code that inspects it (it is never printed). */
    public static StarterException entryError(Object entry, String problem, Throwable cause) {
        return new StarterException(PORT_VARIABLE + " entry \"" + entry + "\": " + problem, cause);
    }
}

package org.serverstarter.adapters;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.serverstarter.adapters.internal.Contract;
import org.serverstarter.adapters.internal.Libc;
import org.serverstarter.adapters.internal.Lifeline;

/**
 * What a superdaemon ({@code start_server}) handed this process: the listening sockets in
 * {@code SERVER_STARTER_PORT}, the generation number in {@code SERVER_STARTER_GENERATION}, and the lifeline in
 * {@code SERVER_STARTER_LIFELINE} (see {@link #watchLifeline()}).
 *
 * <pre>{@code
 * ServerStarter starter = ServerStarter.fromEnvironment();
 * if (starter.isPresent()) {
 *     for (InheritedSocket s : starter.sockets()) serve(s.openServerChannel());
 * } else {
 *     serve(bindOwnPort());   // not under a superdaemon
 * }
 * }</pre>
 *
 * Parsing follows Perl's {@code Server::Starter::server_ports}: entries are separated by {@code ;} (empty ones are
 * skipped) and each is split at its first {@code =} into the key the superdaemon was given ({@code 8080},
 * {@code 127.0.0.1:8080}, {@code [::1]:8080}, {@code /run/app.sock}) and the fd number.
 */
public final class ServerStarter {
    private static final String PORT_VARIABLE = Contract.PORT_VARIABLE;
    private static final String GENERATION_VARIABLE = Contract.GENERATION_VARIABLE;

    private final String ports;
    private final String generation;

    private ServerStarter(String ports, String generation) {
        this.ports = ports;
        this.generation = generation;
    }

    /** What this process's environment says. */
    public static ServerStarter fromEnvironment() {
        String notifySocket = System.getenv(Contract.NOTIFY_SOCKET_VARIABLE);
        if (notifySocket != null && !notifySocket.isEmpty()) {
            // The app will send READY=1 once it serves; have the native binding ready by then.
            Libc.loadInBackground();
        }
        return fromEnvironment(System.getenv());
    }

    /** What {@code env} says, for tests: only {@code SERVER_STARTER_PORT} and {@code SERVER_STARTER_GENERATION} are read. */
    public static ServerStarter fromEnvironment(Map<String, String> env) {
        return new ServerStarter(env.get(PORT_VARIABLE), env.get(GENERATION_VARIABLE));
    }

    /**
     * Makes this JVM stop as on {@code SIGTERM} (its shutdown hooks run, where the adapters drain, then it exits with
     * status 143) once the superdaemon that started it is gone, also after a {@code kill -9}, instead of serving on as
     * an orphan. The Jetty, Undertow and Netty adapters call this when they adopt the inherited sockets; a plain-Java
     * worker calls it once it serves them.
     *
     * <p>{@code SERVER_STARTER_LIFELINE} names an inherited fd, the read end of a pipe whose write end only the
     * superdaemon holds. A daemon thread waits on it and, when the superdaemon is gone, prints
     * {@code start_server is gone (lifeline fd N closed): draining and exiting} on standard error and calls
     * {@code System.exit(143)}. When the variable is absent or empty (Perl's {@code start_server}, or no superdaemon)
     * nothing is watched and nothing native is loaded. When it is not a decimal fd number, or the fd is not open or
     * not a pipe, one line on standard error says so and nothing is watched; this never throws.
     *
     * <p>One watcher per JVM: the first call decides, later ones return its result. The wait calls libc through
     * jnr-ffi on the watcher thread; on JDK 24+ run with {@code --enable-native-access=ALL-UNNAMED} to silence the
     * JDK's warning about that, and should libc fail to load, the watcher says so in one line on standard error.
     *
     * @return whether this JVM watches its lifeline
     */
    public static boolean watchLifeline() {
        return Lifeline.watch(System.getenv(Lifeline.VARIABLE));
    }

    /** True when {@code SERVER_STARTER_PORT} is set, even to the empty string (a superdaemon without sockets). */
    public boolean isPresent() {
        return ports != null;
    }

    /**
     * The inherited sockets in the order the superdaemon listed them.
     *
     * @throws StarterException when {@code SERVER_STARTER_PORT} is not set or an entry is malformed
     */
    public List<InheritedSocket> sockets() {
        if (ports == null) {
            throw new StarterException(PORT_VARIABLE + " is not set: this process was not started by start_server");
        }
        List<InheritedSocket> sockets = new ArrayList<>();
        for (String entry : ports.split(";")) {
            if (!entry.isEmpty()) {
                sockets.add(parse(entry));
            }
        }
        return List.copyOf(sockets);
    }

    /**
     * The superdaemon's spawn counter for this process (1 for the first worker), or 0 when not set.
     *
     * @throws StarterException when the value is not a decimal number
     */
    public long generation() {
        if (generation == null) {
            return 0;
        }
        try {
            return Long.parseLong(generation);
        } catch (NumberFormatException e) {
            throw new StarterException(GENERATION_VARIABLE + "=\"" + generation + "\" is not a decimal number");
        }
    }

    private static InheritedSocket parse(String entry) {
        int eq = entry.indexOf('=');
        if (eq < 0) {
            throw malformed(entry, "has no \"=FD\"");
        }
        String key = entry.substring(0, eq);
        String fdText = entry.substring(eq + 1);
        if (key.isEmpty()) {
            throw malformed(entry, "has an empty address before \"=\"");
        }
        if (!fdText.matches("[0-9]{1,9}")) {
            throw malformed(entry, "has \"" + fdText + "\" where a file descriptor number belongs");
        }
        return InheritedSocket.of(key, Integer.parseInt(fdText));
    }

    private static StarterException malformed(String entry, String problem) {
        return new StarterException(PORT_VARIABLE + " entry \"" + entry + "\" " + problem
                + " (expected ADDRESS=FD entries separated by \";\")");
    }

    @Override
    public String toString() {
        return PORT_VARIABLE + "=" + ports + ", " + GENERATION_VARIABLE + "=" + generation;
    }
}

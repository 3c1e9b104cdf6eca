package org.serverstarter.samples;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.serverstarter.adapters.ServerStarter;

/**
 * What a sample app reads from its environment.
 *
 * <ul>
 *   <li>{@code SERVER_STARTER_PORT}, {@code SERVER_STARTER_GENERATION}: set by the superdaemon.</li>
 *   <li>{@code PORT}: the port to bind on 127.0.0.1 when not under a superdaemon (default 8080).</li>
 *   <li>{@code SLOW_START}: when set and not empty or {@code 0}, the app retires the older generations itself once
 *       it is warmed up, instead of leaving that to the superdaemon's {@code --interval}. It needs the status file
 *       from {@code SERVER_STARTER_STATUS_FILE}, and the superdaemon should run with {@code --signal-on-hup=CONT}.
 *       Ignored when {@code NOTIFY_SOCKET} is set: a superdaemon that waits for {@code READY=1}
 *       ({@code start_server --readiness=notify}) retires the old generation itself, once the new one is warm.</li>
 *   <li>{@code SAMPLE_TLS}, {@code SAMPLE_TLS_KEYSTORE}, {@code SAMPLE_TLS_PASSWORD}: HTTPS with HTTP/2 and HTTP/1.1
 *       over ALPN instead of plain HTTP/1.1 (see {@link Tls}).</li>
 * </ul>
 *
 * @param starter what the superdaemon passed down
 * @param generation {@code SERVER_STARTER_GENERATION}, 0 when not under a superdaemon
 * @param fallbackPort the port to bind when not under a superdaemon
 * @param slowStartStatusFile the status file to read when slow start is on (and readiness notification is not)
 * @param tls the keystore to serve HTTPS with, when {@code SAMPLE_TLS} is set
 */
public record Settings(ServerStarter starter, long generation, int fallbackPort, Optional<Path> slowStartStatusFile,
        Optional<Tls> tls) {

    public static Settings fromEnvironment() {
        return from(System.getenv());
    }

    static Settings from(Map<String, String> env) {
        ServerStarter starter = ServerStarter.fromEnvironment(env);
        String port = env.getOrDefault("PORT", "8080");
        int fallbackPort;
        try {
            fallbackPort = Integer.parseInt(port.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("PORT must be a number, not '" + port + "'");
        }
        String slowStart = env.getOrDefault("SLOW_START", "");
        boolean readinessGated = !env.getOrDefault("NOTIFY_SOCKET", "").isEmpty();
        Optional<Path> statusFile = Optional.empty();
        if (!slowStart.isEmpty() && !slowStart.equals("0") && !readinessGated) {
            String file = env.getOrDefault("SERVER_STARTER_STATUS_FILE", "");
            if (file.isEmpty()) {
                throw new IllegalArgumentException("SLOW_START is set but SERVER_STARTER_STATUS_FILE is not: set it to"
                        + " the file given to start_server --status-file");
            }
            statusFile = Optional.of(Path.of(file));
        }
        return new Settings(starter, starter.generation(), fallbackPort, statusFile, Tls.from(env));
    }

    /** The line a sample prints when it binds its own port. */
    public String fallbackNotice(String app) {
        return app + ": not under a superdaemon (SERVER_STARTER_PORT is not set); listening on 127.0.0.1:"
                + fallbackPort + " myself, without hot restarts" + (tls.isPresent() ? ", HTTPS" : "");
    }
}

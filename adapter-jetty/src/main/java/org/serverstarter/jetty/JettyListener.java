package org.serverstarter.jetty;

import java.io.IOException;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.component.LifeCycle;
import org.serverstarter.adapters.Drain;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;

/**
 * Runs a Jetty 12 {@link Server} under a Server::Starter superdaemon ({@code start_server}): it serves the sockets
 * the superdaemon passes down, and on TERM it drains instead of dropping requests.
 *
 * <pre>{@code
 * Server server = new Server();
 * server.setHandler(app);
 * if (!JettyListener.listen(server)) {          // not under start_server: bind a port ourselves
 *     ServerConnector connector = new ServerConnector(server);
 *     connector.setPort(8080);
 *     server.addConnector(connector);
 * }
 * JettyListener.drainOnStop(server, Duration.ofSeconds(30));
 * server.start();
 * }</pre>
 *
 * The JVM needs {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED} to adopt the inherited sockets.
 */
public final class JettyListener {
    /** How long no new request may start before a draining server closes its idle keep-alive connections. */
    private static final Duration QUIET = Duration.ofMillis(250);

    private JettyListener() {}

    /** {@link #listen(Server, HttpConfiguration)} with Jetty's default HTTP/1.1 configuration. */
    public static boolean listen(Server server) {
        return listen(server, new HttpConfiguration());
    }

    /**
     * Adds one HTTP/1.1 connector per socket in {@code SERVER_STARTER_PORT}: TCP sockets through
     * {@link ServerConnector#open(ServerSocketChannel)}, unix sockets through a connector that never binds and never
     * deletes the socket file. Call before {@code server.start()}.
     *
     * <p>Either way, once {@code server.start()} has started every connector, {@code READY=1} goes to
     * {@code NOTIFY_SOCKET} when it is set (see {@link Readiness}; {@link Readiness#deferReady()} leaves that to the
     * app).
     *
     * @return false when {@code SERVER_STARTER_PORT} is not set, so the caller binds a port of its own
     * @throws StarterException when the variable is set but an entry is malformed, an fd is not the listening socket
     *     it claims to be, or the JVM lacks the {@code --add-opens} flag
     */
    public static boolean listen(Server server, HttpConfiguration config) {
        server.addEventListener(new LifeCycle.Listener() {
            @Override
            public void lifeCycleStarted(LifeCycle event) {
                Readiness.notifyServing();
            }
        });
        ServerStarter starter = ServerStarter.fromEnvironment();
        if (!starter.isPresent()) {
            return false;
        }
        for (InheritedSocket socket : starter.sockets()) {
            ServerSocketChannel channel = socket.openServerChannel();
            HttpConnectionFactory http = new HttpConnectionFactory(config);
            AbstractConnector connector;
            if (socket.isUnix()) {
                connector = new AdoptedUnixConnector(server, channel, http);
            } else {
                ServerConnector tcp = new ServerConnector(server, http);
                try {
                    tcp.open(channel);
                } catch (IOException e) {
                    throw new StarterException("SERVER_STARTER_PORT entry \"" + socket + "\": " + e.getMessage(), e);
                }
                connector = tcp;
            }
            connector.setName(socket.key());
            server.addConnector(connector);
        }
        return true;
    }

    /**
     * Makes the JVM's shutdown (TERM from the superdaemon, or INT) a graceful stop: stop accepting, so new connections
     * go to the next generation; answer every request already received, with {@code Connection: close}; wait until
     * none is in flight, at most {@code timeout}; then stop the server. {@code STOPPING=1} goes to
     * {@code NOTIFY_SOCKET}, when set, as the drain starts. Call after {@code server.setHandler(...)} and
     * before {@code server.start()}; do not also use {@code setStopAtShutdown(true)}.
     */
    public static void drainOnStop(Server server, Duration timeout) {
        if (server.getHandler() == null) {
            throw new IllegalStateException("drainOnStop needs the server's handler: call server.setHandler() first");
        }
        if (server.isStarted()) {
            throw new IllegalStateException("drainOnStop must be called before server.start()");
        }
        Drain drain = new Drain();
        server.setHandler(new DrainHandler(drain, server.getHandler()));
        server.setStopAtShutdown(false);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> drainAndStop(server, drain, timeout), "jetty-drain"));
    }

    private static void drainAndStop(Server server, Drain drain, Duration timeout) {
        drain.begin();
        Readiness.notifyStopping();
        for (Connector c : server.getConnectors()) {
            if (c instanceof AbstractConnector connector) {
                // shutdown() also lowers open connections' idle timeout; keep it long enough for slow requests.
                connector.setShutdownIdleTimeout(timeout.toMillis());
            }
            c.shutdown();
        }
        try {
            if (!drain.awaitQuiet(QUIET, timeout)) {
                System.err.println("JettyListener: " + drain.inFlight() + " request(s) still running after "
                        + timeout.toMillis() + " ms; stopping anyway");
            }
            server.setStopTimeout(0);
            server.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            System.err.println("JettyListener: stopping the server failed: " + e);
        }
    }
}

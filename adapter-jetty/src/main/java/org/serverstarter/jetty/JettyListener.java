package org.serverstarter.jetty;

import java.io.IOException;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnector;
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
     * <p>Under a superdaemon it also watches the superdaemon's lifeline ({@link ServerStarter#watchLifeline()}): should
     * the superdaemon die, even by {@code kill -9}, the JVM shuts down as on TERM, draining through
     * {@link #drainOnStop}, instead of serving on as an orphan.
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
        ServerStarter.watchLifeline();
        return true;
    }

    /**
     * Makes the JVM's shutdown (TERM from the superdaemon, or INT) a graceful stop that loses no request: stop
     * accepting, so new connections go to the next generation (only this process's copy of each listening socket is
     * closed; the superdaemon and the next generation keep the socket); keep serving every connection already accepted,
     * their responses carrying {@code Connection: close} (spread over the first {@link Drain#DEFAULT_SPREAD}, so that
     * the clients do not all reconnect to the next generation at once, then every one); wait until the clients have
     * closed every one of them, at most {@code timeout}; then stop the server, which closes whatever is left. A
     * keep-alive connection is not closed while idle, since its client may be sending a request at that very moment: it
     * stays open until its client sends one more request, gets the answer with {@code Connection: close} and closes it,
     * or until the timeout. {@code STOPPING=1} goes to {@code NOTIFY_SOCKET}, when set, as the drain starts. Call after
     * {@code server.setHandler(...)} and before {@code server.start()}; do not also use
     * {@code setStopAtShutdown(true)}.
     */
    public static void drainOnStop(Server server, Duration timeout) {
        drainOnStop(server, timeout, Drain.spreadWithin(timeout));
    }

    /**
     * {@link #drainOnStop(Server, Duration)}, with the {@code Connection: close} answers spread over {@code spread}
     * instead of {@link Drain#DEFAULT_SPREAD}: each connection is told to close at its first response after a moment
     * of its own, and those moments are spread evenly over {@code spread}, so that a busy server's clients move to
     * the next generation a few at a time, not all in the same millisecond. {@link Duration#ZERO} closes every
     * connection at its next response.
     *
     * @throws IllegalArgumentException when {@code spread} is negative
     */
    public static void drainOnStop(Server server, Duration timeout, Duration spread) {
        if (spread.isNegative()) {
            throw new IllegalArgumentException("negative spread: " + spread);
        }
        if (server.getHandler() == null) {
            throw new IllegalStateException("drainOnStop needs the server's handler: call server.setHandler() first");
        }
        if (server.isStarted()) {
            throw new IllegalStateException("drainOnStop must be called before server.start()");
        }
        Drain drain = new Drain();
        OpenConnections connections = new OpenConnections(drain);
        DrainHandler handler = new DrainHandler(drain, server.getHandler());
        server.setHandler(handler);
        server.setStopAtShutdown(false);
        // The app may add its own connectors after this call; all of them are there once the server starts.
        server.addEventListener(new LifeCycle.Listener() {
            @Override
            public void lifeCycleStarting(LifeCycle event) {
                for (Connector connector : server.getConnectors()) {
                    connections.follow(connector);
                }
            }
        });
        Runtime.getRuntime().addShutdownHook(
                new Thread(() -> drainAndStop(server, drain, handler, timeout, spread), "jetty-drain"));
    }

    private static void drainAndStop(Server server, Drain drain, DrainHandler handler, Duration timeout,
            Duration spread) {
        long deadline = System.nanoTime() + timeout.toNanos();
        drain.begin(spread);
        Readiness.notifyStopping();
        for (Connector connector : server.getConnectors()) {
            stopAccepting(connector);
        }
        try {
            // Jetty closes a connection after the response it is sending when its connector has been shut down, and a
            // response committed without Connection: close (before the drain began, or during its spread) does not tell
            // its client so. Shutting the connectors down only once the spread is over and those responses are sent
            // leaves their connections to the client's next request, which gets Connection: close.
            drain.awaitSpread();
            handler.awaitKeepAliveResponses(deadline);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        List<CompletableFuture<Void>> shutdowns = new ArrayList<>();
        for (Connector c : server.getConnectors()) {
            if (c instanceof AbstractConnector connector) {
                // shutdown() lowers open connections' idle timeout to this; keep them for the whole drain.
                connector.setShutdownIdleTimeout(timeout.toMillis());
            }
            shutdowns.add(c.shutdown());
        }
        try {
            // Done when the acceptors have stopped and the endpoints Jetty counts are closed. A connection accepted
            // just before is not yet such an endpoint, so it is waited for through OpenConnections.
            CompletableFuture.allOf(shutdowns.toArray(CompletableFuture[]::new))
                    .get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            // reported below, with what is still open
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (ExecutionException e) {
            System.err.println("JettyListener: shutting the connectors down failed: " + e.getCause());
        }
        try {
            if (!drain.awaitNoConnections(deadline)) {
                System.err.println("JettyListener: " + drain.openConnections() + " connection(s) still open, "
                        + drain.inFlight() + " request(s) running, after " + timeout.toMillis()
                        + " ms; stopping anyway");
            }
            server.setStopTimeout(0);
            server.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            System.err.println("JettyListener: stopping the server failed: " + e);
        }
    }

    /**
     * Closes this process's copy of the connector's listening socket, so that new connections go to the next generation
     * at once, without shutting the connector down (see {@link DrainHandler#awaitKeepAliveResponses}). Connectors of
     * other kinds stop accepting when they are shut down.
     */
    private static void stopAccepting(Connector connector) {
        if (connector instanceof NetworkConnector network) {
            network.close();
        } else if (connector instanceof AdoptedUnixConnector unix) {
            unix.stopAccepting();
        }
    }
}

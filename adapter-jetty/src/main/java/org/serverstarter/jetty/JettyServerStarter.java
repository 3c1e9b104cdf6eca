package org.serverstarter.jetty;

import java.io.IOException;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Jetty;
import org.eclipse.jetty.util.component.Graceful;
import org.eclipse.jetty.util.component.LifeCycle;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;
import org.serverstarter.adapters.internal.Contract;
import org.serverstarter.adapters.internal.Drain;
import org.serverstarter.adapters.internal.Notify;

/**
 * The Server::Starter contract for a Jetty 12 {@link Server}: serves the sockets a superdaemon ({@code start_server})
 * passes down, TCP and unix, and drains instead of dropping requests when the superdaemon retires this generation.
 *
 * <pre>{@code
 * JettyServerStarter starter = JettyServerStarter.fromEnvironment();
 * Server server = new Server();
 * server.setHandler(app);
 * if (starter.isPresent()) {
 *     starter.listen(server);                            // one connector per inherited socket
 *     starter.drainOnShutdown(Duration.ofSeconds(30));   // TERM: stop accepting, finish requests, exit
 * } else {
 *     ServerConnector connector = new ServerConnector(server);   // not under start_server: bind a port
 *     connector.setPort(8080);
 *     server.addConnector(connector);
 * }
 * server.start();
 * }</pre>
 *
 * <p>The drain is part of the server's life cycle: once {@link #listen} was called, {@code server.stop()} drains
 * first, for at most the server's {@link Server#getStopTimeout() stop timeout}, whoever calls it.
 *
 * <p>After {@link Readiness#deferReady()}, the inherited sockets accept only once the app calls
 * {@link Readiness#notifyReady()}.
 *
 * <p>The JVM needs {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED} to adopt the inherited sockets.
 */
public final class JettyServerStarter {
    private static final String OLDEST_JETTY = "12.0.5";
    private final ServerStarter starter;
    private final Drain drain = new Drain();
    private final OpenConnections connections = new OpenConnections(drain);
    // The inherited connectors, and whether the drain has closed them: taken by the drain before it closes them and by
    // the readiness gate before it lets them accept, so that a gate opened during a drain leaves them shut.
    private final Object acceptGate = new Object();
    private final List<AbstractConnector> inherited = new ArrayList<>();
    private boolean closing;
    /**
     * Whether the app has Jetty's HTTP/2, with the frame listeners {@link Http2FirstGoAway} needs (not in every 12.0.x
     * release): an app without it never touches that class, which would not link.
     */
    private static final boolean HTTP2 = hasHttp2();

    // Written under this object's lock, read by the shutdown hook without it.
    private volatile Server server;
    private volatile DrainHandler handler;
    private Boolean drained;

    private JettyServerStarter(ServerStarter starter) {
        this.starter = starter;
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from this process's environment.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static JettyServerStarter fromEnvironment() {
        return of(ServerStarter.fromEnvironment());
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from {@code env}, for tests.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static JettyServerStarter fromEnvironment(Map<String, String> env) {
        return of(ServerStarter.fromEnvironment(env));
    }

    private static JettyServerStarter of(ServerStarter starter) {
        if (starter.isPresent()) {
            Contract.socketsToServe(starter);
        }
        return new JettyServerStarter(starter);
    }

    /**
     * Whether a superdaemon passed sockets down ({@code SERVER_STARTER_PORT} is set). When false, the app binds a port
     * of its own instead of calling {@link #listen}.
     */
    public boolean isPresent() {
        return starter.isPresent();
    }

    /** {@link #listen(Server, HttpConfiguration)} with Jetty's default HTTP/1.1 configuration. */
    public void listen(Server server) {
        listen(server, new HttpConfiguration());
    }

    /** {@link #listen(Server, Function)} with one HTTP/1.1 connection factory of {@code config} per socket. */
    public void listen(Server server, HttpConfiguration config) {
        listen(server, socket -> List.of(new HttpConnectionFactory(config)));
    }

    /**
     * Adds one connector per socket in {@code SERVER_STARTER_PORT}, named after the entry's key, with the connection
     * factories that {@code factories} returns for that socket, in the order {@link ServerConnector}'s constructor
     * takes them: the first is the default, so TLS with HTTP/2 and HTTP/1.1 over ALPN is
     * {@code List.of(ssl, alpn, h2, http11)}, h2c beside HTTP/1.1 is {@code List.of(http11, h2c)}. {@code factories}
     * is called once per socket and should return new instances each time: a factory is a bean of its connector.
     * TCP sockets are served through {@link ServerConnector#open(ServerSocketChannel)}, unix sockets through a
     * connector that never binds and never deletes the socket file. Call before {@code server.start()}; the app may
     * add connectors of its own.
     *
     * <p>From then on the server drains when it stops (see {@link #drain(Duration)}): when it starts, its handler is
     * wrapped to count requests and to answer with {@code Connection: close} during a drain, and {@code server.stop()}
     * drains for at most {@link Server#getStopTimeout()} before Jetty stops anything.
     *
     * <p>Once {@code server.start()} has started every connector, {@code READY=1} goes to {@code NOTIFY_SOCKET} when
     * that is set (see {@link Readiness}; {@link Readiness#deferReady()} leaves that to the app). After
     * {@link Readiness#deferReady()}, the sockets accept only once the app calls {@link Readiness#notifyReady()}; the
     * app's own connectors accept at once. It also watches the
     * superdaemon's lifeline ({@link ServerStarter#watchLifeline()}): should the superdaemon die, even by
     * {@code kill -9}, the JVM shuts down as on TERM, draining, instead of serving on as an orphan.
     *
     * @throws IllegalStateException when not under a superdaemon ({@link #isPresent()} is false), when called a
     *     second time, or after the server started
     * @throws StarterException when an entry is malformed, an fd is not the listening socket it claims to be, the
     *     JVM lacks the {@code --add-opens} flag, or Jetty is older than 12.0.5
     * @throws IllegalArgumentException when {@code factories} returns no factory for a socket
     */
    public synchronized void listen(Server server, Function<InheritedSocket, List<ConnectionFactory>> factories) {
        if (!isPresent()) {
            throw new IllegalStateException(Contract.PORT_VARIABLE + " is not set: not under start_server, so bind a "
                    + "port of your own instead of calling listen");
        }
        if (this.server != null) {
            // A second connector on the same fd would close it under the first one.
            throw new IllegalStateException("JettyServerStarter.listen was already called");
        }
        if (!server.isStopped()) {
            throw new IllegalStateException("JettyServerStarter.listen must be called before server.start()");
        }
        requireSupportedJetty();
        List<AbstractConnector> connectors = new ArrayList<>();
        try {
            for (InheritedSocket socket : starter.sockets()) {
                connectors.add(connector(server, socket, factories.apply(socket)));
            }
        } catch (RuntimeException e) {
            connectors.forEach(JettyServerStarter::stopAccepting);
            throw e;
        }
        synchronized (acceptGate) {
            inherited.addAll(connectors);
        }
        for (AbstractConnector connector : connectors) {
            // Followed from here, not only when the server starts: Spring Boot starts its Jetty without connectors
            // and starts them one by one later.
            connections.follow(connector);
            server.addConnector(connector);
        }
        this.server = server;
        server.addEventListener(new Lifecycle());
        ServerStarter.watchLifeline();
    }

    /** Older 12.0 releases lack the request completion callback the drain counts requests by. */
    private static void requireSupportedJetty() {
        try {
            Request.class.getMethod("addCompletionListener", Request.class, Consumer.class);
        } catch (NoSuchMethodException e) {
            throw new StarterException("JettyServerStarter needs Jetty " + OLDEST_JETTY + " or later, not "
                    + Jetty.VERSION);
        }
    }

    private static AbstractConnector connector(Server server, InheritedSocket socket,
            List<ConnectionFactory> factories) {
        if (factories == null || factories.isEmpty()) {
            throw new IllegalArgumentException("no connection factory for " + socket.key());
        }
        ConnectionFactory[] chain = factories.toArray(ConnectionFactory[]::new);
        ServerSocketChannel channel = socket.openServerChannel();
        AbstractConnector connector;
        if (socket.isUnix()) {
            connector = new AdoptedUnixConnector(server, channel, chain);
        } else {
            ServerConnector tcp = new ServerConnector(server, chain);
            try {
                tcp.open(channel);
            } catch (IOException e) {
                throw Contract.entryError(socket, e.getMessage(), e);
            }
            connector = tcp;
        }
        connector.setName(socket.key());
        // Jetty's own accept switch, in 12.0 and 12.1 alike: the acceptor threads wait before accept() until
        // startAccepting() turns it on, and leave that wait when the connector shuts down or stops (Jetty interrupts
        // them), so a stop before the app is ready neither hangs nor leaves a thread behind. Until the server has
        // started, and the app is ready when it deferred READY=1, clients stay in the shared backlog, where the
        // generation still serving takes them.
        connector.setAccepting(false);
        return connector;
    }

    /** Ties the drain and the readiness notification to the server's life cycle. */
    private final class Lifecycle implements LifeCycle.Listener {
        @Override
        public void lifeCycleStarting(LifeCycle event) {
            wrapHandler();
        }

        @Override
        public void lifeCycleStarted(LifeCycle event) {
            Notify.whenReady(JettyServerStarter.this::startAccepting);
            Notify.serving();
        }

        @Override
        public void lifeCycleStopping(LifeCycle event) {
            // A server that failed before its handler was wrapped has nothing to drain.
            if (handler != null && !drain(Duration.ofMillis(Math.max(0, server.getStopTimeout())))) {
                // The drain used the stop timeout up; Jetty would otherwise wait for the same connections again.
                server.setStopTimeout(0);
            }
        }
    }

    /**
     * Lets the inherited connectors accept, unless the drain has begun: a {@link ServerConnector} the drain closed has
     * no channel left, and its acceptor, let go, would return from accept() at once, over and over, until the
     * connector shuts down.
     */
    private void startAccepting() {
        synchronized (acceptGate) {
            if (!closing) {
                inherited.forEach(connector -> connector.setAccepting(true));
            }
        }
    }

    private synchronized void wrapHandler() {
        if (handler != null) {
            throw new IllegalStateException("a server that JettyServerStarter served cannot start again");
        }
        if (server.getHandler() == null) {
            throw new IllegalStateException("JettyServerStarter needs the server's handler: call server.setHandler()");
        }
        handler = new DrainHandler(drain, server.getHandler());
        server.setHandler(handler);
        // The app may add its own connectors after listen; all of them are there once the server starts.
        for (Connector connector : server.getConnectors()) {
            connections.follow(connector);
        }
    }

    /**
     * Drains the server that {@link #listen} was given, without stopping it; {@code server.stop()} afterwards closes
     * whatever is left. Blocks until done; later calls (and the drain of {@code server.stop()}) return the first
     * call's result at once.
     *
     * <ol>
     *   <li>Sends {@code STOPPING=1} to {@code NOTIFY_SOCKET} when that is set, and stops accepting: only this
     *       process's copy of each listening socket is closed, so the superdaemon and the next generation keep it.</li>
     *   <li>Keeps serving every connection already accepted, their responses carrying {@code Connection: close}: each
     *       connection is told at its first response after a moment of its own, those moments spread evenly over the
     *       first 200 ms (or {@code timeout} when shorter), so that a busy server's clients do not all reconnect to
     *       the next generation in the same millisecond; then every one. HTTP/2 connections (over TLS or h2c) get,
     *       once that spread is over, a graceful GOAWAY: first one naming the highest possible stream id, with a PING;
     *       once the client has answered the PING (so every stream it opened before it saw the GOAWAY has arrived),
     *       Jetty's own, naming the last stream the server took; the streams they carry finish, and Jetty closes the
     *       connection after the last one.</li>
     *   <li>Waits until the clients have closed every one of those connections, at most {@code timeout}. An idle
     *       keep-alive connection is not closed early, since its client may be sending a request at that very
     *       moment: it stays open until its client sends one more request and gets the answer with
     *       {@code Connection: close}, or closes it, or until the timeout. When the timeout passed first, one line
     *       on standard error says how many connections and requests were left.</li>
     * </ol>
     *
     * @return true when every connection closed within {@code timeout}
     * @throws IllegalStateException when {@link #listen} was not called, or the server never started
     */
    public boolean drain(Duration timeout) {
        return drain(timeout, Drain.spreadWithin(timeout));
    }

    /**
     * {@link #drain(Duration)}, with the {@code Connection: close} answers spread over {@code spread} instead of
     * 200 ms. {@link Duration#ZERO} closes every connection at its next response.
     *
     * @throws IllegalArgumentException when {@code spread} is negative
     */
    public synchronized boolean drain(Duration timeout, Duration spread) {
        if (spread.isNegative()) {
            throw new IllegalArgumentException("negative spread: " + spread);
        }
        if (handler == null) {
            throw new IllegalStateException("JettyServerStarter.drain needs a server that listen was given and that "
                    + "started");
        }
        if (drained == null) {
            try {
                drained = drainConnections(timeout, spread);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return drained;
    }

    /**
     * Drains (see {@link #drain(Duration)}) and stops the server when the JVM shuts down: on the {@code SIGTERM} with
     * which the superdaemon retires an old generation, on INT, or when the lifeline reports the superdaemon gone. The
     * JVM exits once the server has stopped. Jetty's own {@code setStopAtShutdown(true)} with
     * {@code setStopTimeout(millis)} does the same; one of the two is enough.
     *
     * @throws IllegalStateException when {@link #listen} was not called first
     */
    public synchronized void drainOnShutdown(Duration timeout) {
        if (server == null) {
            throw new IllegalStateException("call JettyServerStarter.listen(server) before drainOnShutdown");
        }
        Server stopping = server;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (handler != null) {
                drain(timeout);
            }
            try {
                stopping.stop();
            } catch (Exception e) {
                System.err.println("JettyServerStarter: stopping the server failed: " + e);
            }
        }, "jetty-drain"));
    }

    private boolean drainConnections(Duration timeout, Duration spread) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        drain.begin(spread);
        Readiness.notifyStopping();
        synchronized (acceptGate) {
            closing = true;
        }
        for (Connector connector : server.getConnectors()) {
            stopAccepting(connector);
        }
        // Jetty closes a connection after the response it is sending when its connector has been shut down, and a
        // response committed without Connection: close (before the drain began, or during its spread) does not tell
        // its client so. Shutting the connectors down only once the spread is over and those responses are sent
        // leaves their connections to the client's next request, which gets Connection: close.
        drain.awaitSpread();
        handler.awaitKeepAliveResponses(deadline);
        if (HTTP2) {
            Http2FirstGoAway.send(List.of(server.getConnectors()), deadline);
        }
        List<CompletableFuture<Void>> shutdowns = new ArrayList<>();
        for (Connector c : server.getConnectors()) {
            if (c instanceof AbstractConnector connector) {
                // shutdown() lowers open connections' idle timeout to this; keep them for the whole drain.
                connector.setShutdownIdleTimeout(timeout.toMillis());
            }
            shutdowns.add(c.shutdown());
            // The connector's own shutdown leaves the connections to their protocol: what is Graceful among its beans
            // (HTTP/2's session container) shuts down the HTTP/2 sessions Http2FirstGoAway has not, each closing once
            // its streams are done. HTTP/1.1 connections have nothing Graceful and are left as they are.
            shutdowns.add(Graceful.shutdown(c));
        }
        try {
            // Done when the acceptors have stopped and the endpoints Jetty counts are closed. A connection accepted
            // just before is not yet such an endpoint, so it is waited for through OpenConnections.
            CompletableFuture.allOf(shutdowns.toArray(CompletableFuture[]::new))
                    .get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            // reported below, with what is still open
        } catch (ExecutionException e) {
            System.err.println("JettyServerStarter: shutting the connectors down failed: " + e.getCause());
        }
        if (!drain.awaitNoConnections(deadline)) {
            System.err.println("JettyServerStarter: " + drain.openConnections() + " connection(s) still open, "
                    + drain.inFlight() + " request(s) running, after " + timeout.toMillis() + " ms; stopping anyway");
            return false;
        }
        return true;
    }

    /** Looks the classes and methods {@link Http2FirstGoAway} uses up by name, without linking it. */
    private static boolean hasHttp2() {
        ClassLoader loader = Server.class.getClassLoader();
        try {
            Class.forName("org.eclipse.jetty.http2.HTTP2Session$FrameListener", false, loader);
            Class.forName("org.eclipse.jetty.http2.HTTP2Session$LifeCycleListener", false, loader);
            Class.forName("org.eclipse.jetty.http2.SessionContainer", false, loader).getMethod("getSessions");
            Class.forName("org.eclipse.jetty.http2.HTTP2Session", false, loader).getMethod("frames",
                    Class.forName("org.eclipse.jetty.http2.HTTP2Stream", false, loader), List.class,
                    Class.forName("org.eclipse.jetty.util.Callback", false, loader));
            Class.forName("org.eclipse.jetty.http2.frames.PingFrame", false, loader).getMethod("getPayloadAsLong");
            Class.forName("org.eclipse.jetty.http2.frames.GoAwayFrame", false, loader).getMethod("isGraceful");
            Class.forName("org.eclipse.jetty.http2.HTTP2Session", false, loader).getMethod("getEndPoint");
            return true;
        } catch (ReflectiveOperationException | LinkageError e) {
            return false;
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

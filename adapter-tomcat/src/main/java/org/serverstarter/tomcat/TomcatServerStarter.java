package org.serverstarter.tomcat;

import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.LifecycleEvent;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.LifecycleListener;
import org.apache.catalina.LifecycleState;
import org.apache.catalina.Server;
import org.apache.catalina.Service;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.core.StandardService;
import org.apache.catalina.startup.Tomcat;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;
import org.serverstarter.adapters.internal.Contract;
import org.serverstarter.adapters.internal.Drain;
import org.serverstarter.adapters.internal.Notify;

/**
 * The Server::Starter contract for embedded Tomcat 11: serves the sockets a superdaemon ({@code start_server}) passes
 * down, TCP and unix, with one connector each, and drains instead of dropping requests when the superdaemon retires
 * this generation.
 *
 * <pre>{@code
 * Tomcat tomcat = new Tomcat();
 * // ... contexts and servlets
 * TomcatServerStarter starter = TomcatServerStarter.fromEnvironment();
 * if (starter.isPresent()) {
 *     starter.listen(tomcat);                            // one connector per inherited socket
 *     starter.drainOnShutdown(Duration.ofSeconds(30));   // TERM: stop accepting, finish requests, exit
 * } else {
 *     tomcat.setPort(8080);                              // not under start_server: bind a port
 *     tomcat.getConnector();
 * }
 * tomcat.start();
 * }</pre>
 *
 * <p>The drain is part of Tomcat's life cycle: once {@link #listen} was called, stopping the service (as
 * {@code tomcat.stop()} does) drains first, whoever stops it.
 *
 * <p>The JVM needs {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED} to adopt the inherited sockets.
 */
public final class TomcatServerStarter {
    /** How long {@code tomcat.stop()} drains when the service does not say (its graceful stop wait is 0). */
    static final Duration DEFAULT_STOP_DRAIN = Duration.ofSeconds(30);

    private final ServerStarter starter;
    private final Drain drain = new Drain();
    private final List<AdoptedEndpoint> endpoints = new ArrayList<>();
    private final List<Connector> connectors = new ArrayList<>();
    // Written under this object's lock, read by the shutdown hook and Tomcat's threads without it.
    private volatile Service service;
    private volatile boolean started;
    private Boolean drained;

    private TomcatServerStarter(ServerStarter starter) {
        this.starter = starter;
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from this process's environment.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static TomcatServerStarter fromEnvironment() {
        return of(ServerStarter.fromEnvironment());
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from {@code env}, for tests.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static TomcatServerStarter fromEnvironment(Map<String, String> env) {
        return of(ServerStarter.fromEnvironment(env));
    }

    private static TomcatServerStarter of(ServerStarter starter) {
        if (starter.isPresent()) {
            Contract.socketsToServe(starter);
        }
        return new TomcatServerStarter(starter);
    }

    /**
     * Whether a superdaemon passed sockets down ({@code SERVER_STARTER_PORT} is set). When false, the app binds a port
     * of its own instead of calling {@link #listen}.
     */
    public boolean isPresent() {
        return starter.isPresent();
    }

    /** {@link #listen(Service, Consumer)} on {@code tomcat.getService()}, with Tomcat's default connector settings. */
    public void listen(Tomcat tomcat) {
        listen(tomcat.getService(), connector -> { });
    }

    /** {@link #listen(Service, Consumer)} on {@code tomcat.getService()}. */
    public void listen(Tomcat tomcat, Consumer<Connector> configure) {
        listen(tomcat.getService(), configure);
    }

    /**
     * Adds to {@code service} one HTTP/1.1 NIO connector per socket in {@code SERVER_STARTER_PORT}, each serving the
     * inherited socket itself: it never binds, and never deletes a unix socket's file. Each is named after the
     * entry's key (its protocol handler is {@code "http-nio-127.0.0.1:8080"}, and so are its threads) and has, for a
     * TCP entry, the socket's address and port as {@code address} and {@code port}. {@code configure} is then given
     * each connector, to set what the app would set on a connector of its own ({@code maxThreads},
     * {@code keepAliveTimeout}, {@code setProperty}, an executor, upgrade protocols, ...); ports, addresses and
     * {@code bindOnInit} mean nothing to these connectors. Call before the service starts; the app may add connectors
     * of its own.
     *
     * <p>From then on the service drains when it stops (see {@link #drain(Duration)}): {@code tomcat.stop()} drains
     * for at most the service's {@code gracefulStopAwaitMillis}, or 30 s when that is 0 (Tomcat's default), before
     * Tomcat stops anything.
     *
     * <p>Once the service has started, {@code READY=1} goes to {@code NOTIFY_SOCKET} when that is set (see
     * {@link Readiness}; {@link Readiness#deferReady()} leaves that to the app). It also watches the superdaemon's
     * lifeline ({@link ServerStarter#watchLifeline()}): should the superdaemon die, even by {@code kill -9}, the JVM
     * shuts down as on TERM, draining, instead of serving on as an orphan.
     *
     * @throws IllegalStateException when not under a superdaemon ({@link #isPresent()} is false), when called a
     *     second time, or after the service started
     * @throws StarterException when an entry is malformed, an fd is not the listening socket it claims to be, or the
     *     JVM lacks the {@code --add-opens} flag
     */
    public synchronized void listen(Service service, Consumer<Connector> configure) {
        if (!isPresent()) {
            throw new IllegalStateException(Contract.PORT_VARIABLE + " is not set: not under start_server, so bind a "
                    + "port of your own instead of calling listen");
        }
        if (this.service != null) {
            // A second connector on the same fd would close it under the first one.
            throw new IllegalStateException("TomcatServerStarter.listen was already called");
        }
        LifecycleState state = service.getState();
        if (state != LifecycleState.NEW && state != LifecycleState.INITIALIZED) {
            throw new IllegalStateException("TomcatServerStarter.listen must be called before tomcat.start()");
        }
        List<Connector> made = new ArrayList<>();
        List<AdoptedEndpoint> adopted = new ArrayList<>();
        try {
            for (InheritedSocket socket : starter.sockets()) {
                ServerSocketChannel channel = socket.openServerChannel();
                AdoptedEndpoint endpoint = new AdoptedEndpoint(socket, channel, drain);
                adopted.add(endpoint);
                Connector connector = new Connector(new DrainingProtocol(endpoint, drain));
                // A connector that cannot start must fail tomcat.start(), not leave Tomcat running without it.
                connector.setThrowOnFailure(true);
                made.add(connector);
            }
            made.forEach(configure);
        } catch (RuntimeException | Error e) {
            adopted.forEach(AdoptedEndpoint::stopAccepting);
            throw e;
        }
        made.forEach(service::addConnector);
        endpoints.addAll(adopted);
        connectors.addAll(made);
        this.service = service;
        service.addLifecycleListener(new Life());
        ServerStarter.watchLifeline();
    }

    /** Ties the drain and the readiness notification to the service's life cycle. */
    private final class Life implements LifecycleListener {
        @Override
        public void lifecycleEvent(LifecycleEvent event) {
            switch (event.getType()) {
                case Lifecycle.BEFORE_START_EVENT -> {
                    if (started) {
                        throw new IllegalStateException("a Tomcat that TomcatServerStarter served cannot start again: "
                                + "its inherited sockets were closed when it stopped");
                    }
                }
                case Lifecycle.AFTER_START_EVENT -> {
                    started = true;
                    Notify.whenReady(() -> endpoints.forEach(AdoptedEndpoint::startAccepting));
                    Notify.serving();
                }
                case Lifecycle.BEFORE_STOP_EVENT -> {
                    if (started && !drain(stopTimeout()) && service instanceof StandardService standard) {
                        // The drain used the time up; Tomcat would otherwise wait as long again for the same connections.
                        standard.setGracefulStopAwaitMillis(0);
                    }
                }
                default -> {
                    // nothing to do
                }
            }
        }
    }

    private Duration stopTimeout() {
        if (service instanceof StandardService standard && standard.getGracefulStopAwaitMillis() > 0) {
            return Duration.ofMillis(standard.getGracefulStopAwaitMillis());
        }
        return DEFAULT_STOP_DRAIN;
    }

    /**
     * Drains the connectors that {@link #listen} added, without stopping Tomcat; {@code tomcat.stop()} afterwards
     * closes whatever is left. Blocks until done; later calls (and the drain of {@code tomcat.stop()}) return the first
     * call's result at once.
     *
     * <ol>
     *   <li>Sends {@code STOPPING=1} to {@code NOTIFY_SOCKET} when that is set, and stops accepting: only this
     *       process's copy of each listening socket is closed, so the superdaemon and the next generation keep it.
     *       Tomcat is not paused (a paused Tomcat answers 503 on open connections).</li>
     *   <li>Keeps serving every connection already accepted, their responses carrying {@code Connection: close}: each
     *       connection is told at its first response after a moment of its own, those moments spread evenly over the
     *       first 200 ms (or {@code timeout} when shorter), so that a busy server's clients do not all reconnect to
     *       the next generation in the same millisecond; then every one. A request that was running when the drain
     *       began is answered that way too.</li>
     *   <li>Sends every HTTP/2 connection a GOAWAY (Tomcat's own graceful form, see {@code Http2Protocol}'s
     *       {@code drainTimeout}): its client opens no new stream there and its open streams finish.</li>
     *   <li>Waits until the clients have closed every one of those connections, at most {@code timeout}. An idle
     *       keep-alive connection is not closed early, since its client may be sending a request at that very
     *       moment: it stays open until its client sends one more request and gets the answer with
     *       {@code Connection: close}, or closes it, or until the timeout. When the timeout passed first, one line
     *       on standard error says how many connections and requests were left.</li>
     * </ol>
     *
     * @return true when every connection closed within {@code timeout}
     * @throws IllegalStateException when {@link #listen} was not called, or the service never started
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
        if (!started) {
            throw new IllegalStateException("TomcatServerStarter.drain needs a Tomcat that listen was given and that "
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

    private boolean drainConnections(Duration timeout, Duration spread) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        drain.begin(spread);
        Readiness.notifyStopping();
        endpoints.forEach(AdoptedEndpoint::stopAccepting);
        for (Connector connector : connectors) {
            ((DrainingProtocol) connector.getProtocolHandler()).goAway();
        }
        // After this every connection taken off the sockets is known to the drain, however late it was accepted.
        endpoints.forEach(AdoptedEndpoint::awaitHandOff);
        if (!drain.awaitNoConnections(deadline)) {
            System.err.println("TomcatServerStarter: " + drain.openConnections() + " connection(s) still open, "
                    + drain.inFlight() + " request(s) running, after " + timeout.toMillis() + " ms; stopping anyway");
            return false;
        }
        return true;
    }

    /**
     * Drains (see {@link #drain(Duration)}) and stops Tomcat when the JVM shuts down: on the {@code SIGTERM} with
     * which the superdaemon retires an old generation, on INT, or when the lifeline reports the superdaemon gone. The
     * JVM exits once Tomcat has stopped.
     *
     * @throws IllegalStateException when {@link #listen} was not called first
     */
    public synchronized void drainOnShutdown(Duration timeout) {
        Service served = service;
        if (served == null) {
            throw new IllegalStateException("call TomcatServerStarter.listen(tomcat) before drainOnShutdown");
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (started) {
                drain(timeout);
            }
            Server server = served.getServer();
            Lifecycle stopping = server != null ? server : served;
            try {
                if (stopping.getState().isAvailable()) {
                    stopping.stop();
                }
            } catch (LifecycleException e) {
                System.err.println("TomcatServerStarter: stopping Tomcat failed: " + e);
            }
        }, "tomcat-drain"));
    }

    /** Whether a drain has begun: from then on responses close their connections as the drain decides. */
    boolean isDraining() {
        return drain.isDraining();
    }

    /** Requests Catalina is serving on the connectors {@link #listen} added (asynchronous ones until they complete). */
    int requestsRunning() {
        return drain.inFlight();
    }

    /** The connectors {@link #listen} added, in {@code SERVER_STARTER_PORT} order. */
    synchronized List<Connector> connectors() {
        return List.copyOf(connectors);
    }
}

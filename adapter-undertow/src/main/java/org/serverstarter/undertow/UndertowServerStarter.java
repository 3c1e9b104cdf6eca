package org.serverstarter.undertow;

import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

import io.undertow.Undertow;
import io.undertow.Version;
import io.undertow.server.HttpHandler;
import io.undertow.server.OpenListener;
import io.undertow.server.protocol.http.HttpOpenListener;

import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;
import org.serverstarter.adapters.internal.Contract;
import org.serverstarter.adapters.internal.Drain;
import org.serverstarter.adapters.internal.Notify;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.XnioWorker;
import org.xnio.channels.AcceptingChannel;

/**
 * The Server::Starter contract for Undertow 2.3: builds and starts the app's {@link Undertow.Builder} with the TCP
 * sockets a superdaemon ({@code start_server}) passed down in {@code SERVER_STARTER_PORT} as its HTTP listeners, and
 * drains gracefully when the superdaemon retires this generation.
 *
 * <pre>{@code
 * UndertowServerStarter starter = UndertowServerStarter.fromEnvironment();
 * Undertow.Builder builder = Undertow.builder().setHandler(app).setIoThreads(4);
 * if (starter.isPresent()) {
 *     starter.listen(builder);                           // builds and starts the server on the inherited sockets
 *     starter.drainOnShutdown(Duration.ofSeconds(30));   // TERM: stop accepting, finish requests, exit
 * } else {
 *     builder.addHttpListener(8080, "0.0.0.0").build().start();   // not under start_server: bind a port
 * }
 * }</pre>
 *
 * <p>Undertow's builder can only bind ports itself, so {@link #listen} lets Undertow build everything from the app's
 * builder (worker, buffers, server options, the root handler with its HTTP/2 upgrade) around one placeholder HTTP
 * listener on a loopback port, suspends that one, and attaches XNIO's own acceptor for each inherited socket (see
 * {@link AdoptedAcceptor}) with an open listener like the placeholder's: the same options, buffers and handler.
 *
 * <p>Only TCP entries can be served, as plain HTTP (h2c with {@code UndertowOptions.ENABLE_HTTP2}) or, through
 * {@link #listen(Undertow.Builder, SSLContext)}, HTTPS (h2 over ALPN with {@code ENABLE_HTTP2}): XNIO's NIO
 * transport calls {@code ServerSocketChannel.socket()}, which a unix-domain channel does not support, and XNIO has no
 * unix-socket server, so a {@code --path} entry fails {@link #listen} with one line. Socket options set with
 * {@code setSocketOption} apply to the builder's own listeners only (Undertow keeps them private); the inherited
 * sockets' connections get {@code TCP_NODELAY}, as with Undertow's defaults.
 *
 * <p>After {@link Readiness#deferReady()}, the inherited sockets accept only once the app calls
 * {@link Readiness#notifyReady()}.
 *
 * <p>Needs the JVM flag {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED} to adopt the inherited fds.
 */
public final class UndertowServerStarter {
    private static final String PLACEHOLDER_HOST = "127.0.0.1";

    private final ServerStarter starter;
    private final Drain drain = new Drain();
    private Http2Connections http2;
    // Held by the accept thread while it hands connections over (see AdoptedAcceptor).
    private final Object acceptPass = new Object();
    private final List<AcceptingChannel<StreamConnection>> acceptors = new ArrayList<>();
    // Taken by the drain before it closes the acceptors and by the readiness gate before it resumes them, so that a
    // gate opened during a drain leaves them closed.
    private final Object acceptGate = new Object();
    private boolean closing;
    private final List<InetSocketAddress> addresses = new ArrayList<>();
    private Undertow server;
    private Boolean drained;

    private UndertowServerStarter(ServerStarter starter) {
        this.starter = starter;
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from this process's environment.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static UndertowServerStarter fromEnvironment() {
        return of(ServerStarter.fromEnvironment());
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from {@code env}, for tests.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static UndertowServerStarter fromEnvironment(Map<String, String> env) {
        return of(ServerStarter.fromEnvironment(env));
    }

    private static UndertowServerStarter of(ServerStarter starter) {
        if (starter.isPresent()) {
            Contract.socketsToServe(starter);
        }
        return new UndertowServerStarter(starter);
    }

    /**
     * Whether a superdaemon passed sockets down ({@code SERVER_STARTER_PORT} is set). When false, the app adds a
     * listener of its own to the builder instead of calling {@link #listen}.
     */
    public boolean isPresent() {
        return starter.isPresent();
    }

    /**
     * Builds and starts {@code builder}'s server, serving its handler on every socket in {@code SERVER_STARTER_PORT}
     * besides any listener the app added to the builder, then sends {@code READY=1} to {@code NOTIFY_SOCKET} when that
     * is set (see {@link Readiness}; {@link Readiness#deferReady()} leaves that to the app). After
     * {@link Readiness#deferReady()}, the inherited sockets accept only once the app calls
     * {@link Readiness#notifyReady()}; the builder's own listeners accept at once. Every option of the
     * builder applies (I/O and worker threads, worker options, buffers, server options such as
     * {@code ENABLE_HTTP2}), except socket options, which Undertow applies only to the listeners it binds.
     *
     * <p>The builder gets one more listener, a placeholder on a loopback port that never accepts; it stays in
     * {@code getListenerInfo()} until the server stops.
     *
     * <p>It also watches the superdaemon's lifeline ({@link ServerStarter#watchLifeline()}): should the superdaemon
     * die, even by {@code kill -9}, the JVM shuts down as on TERM, draining through {@link #drainOnShutdown}, instead of
     * serving on as an orphan.
     *
     * @return the started server; stop it with {@code stop()} after {@link #drain}, or let {@link #drainOnShutdown}
     * @throws IllegalStateException when not under a superdaemon ({@link #isPresent()} is false), or when called a
     *     second time
     * @throws StarterException when the sockets are unusable: none, a unix socket, an fd that is not a listening TCP
     *     socket, the {@code --add-opens} flag missing, or a builder without a handler
     */
    public Undertow listen(Undertow.Builder builder) {
        return listen(builder, null);
    }

    /**
     * {@link #listen(Undertow.Builder)}, serving HTTPS with {@code sslContext} on every inherited socket, as
     * {@code builder.addHttpsListener(port, host, sslContext)} would on a port Undertow binds: with
     * {@code UndertowOptions.ENABLE_HTTP2} set, HTTP/2 and HTTP/1.1 over ALPN; the builder's TLS socket options
     * ({@code Options.SSL_ENABLED_PROTOCOLS}, {@code SSL_ENABLED_CIPHER_SUITES}, {@code SSL_CLIENT_AUTH_MODE}) apply.
     * The placeholder listener is an HTTPS one then. {@code sslContext} null serves plain HTTP.
     *
     * @throws IllegalStateException as {@link #listen(Undertow.Builder)}
     * @throws StarterException as {@link #listen(Undertow.Builder)}, or when this Undertow lacks the TLS acceptor the
     *     adapter builds on (one line)
     */
    public synchronized Undertow listen(Undertow.Builder builder, SSLContext sslContext) {
        if (!isPresent()) {
            throw new IllegalStateException(Contract.PORT_VARIABLE + " is not set: not under start_server, so add a "
                    + "listener of your own instead of calling listen");
        }
        if (server != null) {
            throw new IllegalStateException("UndertowServerStarter.listen was already called");
        }
        List<InheritedSocket> sockets = starter.sockets();
        if (sockets.isEmpty()) {
            throw new StarterException(Contract.PORT_VARIABLE + " is empty: start_server was given no --port to serve");
        }
        for (InheritedSocket socket : sockets) {
            if (socket.isUnix()) {
                throw new StarterException("adapter-undertow cannot serve the unix socket " + socket.key()
                        + ": XNIO's NIO transport supports only TCP; use --port, or the Jetty or Netty adapter");
            }
        }
        List<ServerSocketChannel> channels = new ArrayList<>();
        try {
            for (InheritedSocket socket : sockets) {
                channels.add(socket.openServerChannel());
            }
            serve(channels, builder, sslContext);
        } catch (RuntimeException | Error e) {
            channels.forEach(IoUtils::safeClose);
            throw e;
        }
        ServerStarter.watchLifeline();
        Notify.serving();
        return server;
    }

    /**
     * Starts {@code builder}'s server with already bound and listening TCP channels as extra listeners.
     * Package-private so that tests can serve channels they bound themselves.
     */
    synchronized Undertow serve(List<ServerSocketChannel> channels, Undertow.Builder builder, SSLContext sslContext) {
        builder.addListener(new Undertow.ListenerBuilder()
                .setType(sslContext == null ? Undertow.ListenerType.HTTP : Undertow.ListenerType.HTTPS)
                .setSslContext(sslContext).setHost(PLACEHOLDER_HOST).setPort(0));
        http2 = new Http2Connections();
        Undertow started = builder.build();
        try {
            started.start();
        } catch (RuntimeException e) {
            throw new StarterException("cannot start Undertow: " + e.getMessage(), e);
        } catch (ExceptionInInitializerError e) {
            // jboss-threads reads field offsets through sun.misc.Unsafe; JDK 24+ can deny that.
            throw new StarterException("cannot start the XNIO worker (" + e.getCause() + "); on JDK 24 and later"
                    + " jboss-threads needs sun.misc.Unsafe, so do not run with"
                    + " --sun-misc-unsafe-memory-access=deny", e);
        }
        try {
            List<Undertow.ListenerInfo> listeners = started.getListenerInfo();
            Undertow.ListenerInfo placeholder = listeners.get(listeners.size() - 1);
            placeholder.suspend();
            OpenListener template = openListener(placeholder);
            boolean tls = TlsAcceptor.isTls(placeholder);
            HttpHandler root = tls ? TlsAcceptor.handler(builder) : template.getRootHandler();
            if (root == null) {
                throw new StarterException("the Undertow builder has no handler: call setHandler before listen");
            }
            HttpHandler draining = new DrainingHandler(root, drain, http2);
            OpenConnections connections = new OpenConnections(drain);
            XnioWorker worker = started.getWorker();
            if (tls) {
                // The placeholder's own open listener (ALPN to HTTP/2 or HTTP/1.1, as Undertow set it up) serves the
                // inherited sockets; it never gets a connection of its own, since the placeholder is suspended.
                template.setRootHandler(draining);
            }
            for (ServerSocketChannel channel : channels) {
                OpenListener open = template;
                if (!tls) {
                    HttpOpenListener http = new HttpOpenListener(template.getBufferPool(),
                            template.getUndertowOptions());
                    http.setRootHandler(draining);
                    open = http;
                }
                AcceptingChannel<StreamConnection> acceptor = AdoptedAcceptor.open(worker, channel,
                        OptionMap.create(Options.TCP_NODELAY, true), acceptPass);
                acceptors.add(acceptor);
                AcceptingChannel<? extends StreamConnection> served = tls
                        ? TlsAcceptor.wrap(placeholder, builder, acceptor) : acceptor;
                connections.listen(served, open);
                addresses.add(tcpAddress(acceptor.getLocalAddress(), channel));
            }
        } catch (RuntimeException | Error e) {
            acceptors.forEach(IoUtils::safeClose);
            started.stop();
            throw e;
        }
        server = started;
        // The acceptors were made suspended and stay so until the app is ready (at once unless it deferred READY=1):
        // meanwhile clients wait in the shared backlog, where the generation still serving takes them.
        Notify.whenReady(this::startAccepting);
        return started;
    }

    /**
     * The open listener Undertow built for {@code listener}: its root handler (wrapped for the HTTP/2 upgrade when the
     * builder enables it), its server options and its buffers. Undertow 2.3 keeps it in a private field with no
     * getter, so it is read by reflection; undertow-core has no {@code module-info}, so no JVM flag is needed.
     */
    private static OpenListener openListener(Undertow.ListenerInfo listener) {
        try {
            Field field = Undertow.ListenerInfo.class.getDeclaredField("openListener");
            field.setAccessible(true);
            return (OpenListener) field.get(listener);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new StarterException("this Undertow (" + Version.getVersionString() + ") has no readable "
                    + "Undertow.ListenerInfo.openListener; adapter-undertow needs undertow-core 2.3: " + e, e);
        }
    }

    /**
     * Resumes the acceptors unless the drain has begun or the server stopped without one: XNIO is not asked to accept
     * on a channel it closed, and the app's {@code notifyReady()} gets no exception from a server long gone.
     */
    private void startAccepting() {
        synchronized (acceptGate) {
            if (closing) {
                return;
            }
            for (AcceptingChannel<StreamConnection> acceptor : acceptors) {
                if (acceptor.isOpen()) {
                    acceptor.resumeAccepts();
                }
            }
        }
    }

    /** The local addresses of the inherited sockets being served, in {@code SERVER_STARTER_PORT} order. */
    public synchronized List<InetSocketAddress> addresses() {
        return List.copyOf(addresses);
    }

    /**
     * Drains the inherited sockets' connections without stopping the server; {@code stop()} afterwards closes whatever
     * is left. Blocks until done; later calls return the first call's result at once.
     *
     * <ol>
     *   <li>Sends {@code STOPPING=1} to {@code NOTIFY_SOCKET} when that is set, stops accepting and closes this
     *       process's accepting channels. Only our fds are closed, with no {@code shutdown(2)}: the listening
     *       sockets stay open in the superdaemon and the next generation keeps accepting on them.</li>
     *   <li>Keeps serving every connection already accepted. Their responses carry {@code Connection: close}: each
     *       connection is told at its first response after a moment of its own, those moments spread evenly over the
     *       first 200 ms (or {@code timeout} when shorter), then every one; Undertow closes the connection once such
     *       a response is written. Exchanges already running finish and close theirs the same way. HTTP/2
     *       connections that carried an exchange get a GOAWAY naming stream 2147483647 at once, and one second later,
     *       once no exchange runs on them, Undertow's own GOAWAY naming the last stream taken, which closes them.</li>
     *   <li>Waits until every one of those connections is closed and no exchange is running, at most
     *       {@code timeout}. An idle keep-alive connection is not closed early, since its client may be sending a
     *       request at that very moment: it stays open until its client sends one more request (answered with
     *       {@code Connection: close}) or closes it, so a client that keeps a connection idle holds the drain until
     *       {@code timeout}. When the timeout passed first, one line on standard error says what was left.</li>
     * </ol>
     *
     * Undertow's {@code GracefulShutdownHandler} is deliberately not used: it answers 503 to requests that arrive on
     * kept-alive connections once shutdown has begun.
     *
     * @return true when every connection closed and every exchange finished within {@code timeout}
     * @throws IllegalStateException when {@link #listen} did not start a server
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
        if (server == null) {
            throw new IllegalStateException("UndertowServerStarter.drain needs the server that listen started");
        }
        if (drained != null) {
            return drained;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        drain.begin(spread);
        Readiness.notifyStopping();
        synchronized (acceptGate) {
            closing = true;
        }
        for (AcceptingChannel<StreamConnection> acceptor : acceptors) {
            acceptor.suspendAccepts();
            IoUtils.safeClose(acceptor);
        }
        synchronized (acceptPass) {
            // Entered once the accept thread has queued what it accepted before the close (see AdoptedAcceptor).
        }
        http2.drain();
        drained = false;
        try {
            awaitHandOffs(deadline);
            drained = drain.awaitNoConnections(deadline) && drain.awaitIdle(Duration.ofNanos(remaining(deadline)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!drained) {
            System.err.println("UndertowServerStarter: " + drain.openConnections() + " connection(s) still open, "
                    + drain.inFlight() + " exchange(s) running, after " + timeout.toMillis() + " ms; stopping anyway");
        }
        return drained;
    }

    /**
     * Drains (see {@link #drain(Duration)}) and stops the server when the JVM shuts down: on the {@code SIGTERM} with
     * which the superdaemon retires an old generation, on INT, or when the lifeline reports the superdaemon gone. The
     * JVM exits once the server has stopped.
     *
     * @throws IllegalStateException when {@link #listen} did not start a server
     */
    public synchronized void drainOnShutdown(Duration timeout) {
        if (server == null) {
            throw new IllegalStateException("call UndertowServerStarter.listen(builder) before drainOnShutdown");
        }
        Undertow stopping = server;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            drain(timeout);
            stopping.stop();
        }, "undertow-drain"));
    }

    /**
     * Waits until the I/O threads have run the accept listener for every connection the closed acceptors took off
     * the socket: each such connection was queued to its I/O thread, in order, before a task queued now.
     */
    private void awaitHandOffs(long deadline) throws InterruptedException {
        XnioWorker worker = server.getWorker();
        int threads = worker.getIoThreadCount();
        CountDownLatch passed = new CountDownLatch(threads);
        for (int i = 0; i < threads; i++) {
            worker.getIoThread(i).execute(passed::countDown);
        }
        passed.await(remaining(deadline), TimeUnit.NANOSECONDS);
    }

    private static long remaining(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }

    private static InetSocketAddress tcpAddress(SocketAddress address, ServerSocketChannel channel) {
        if (address instanceof InetSocketAddress) {
            return (InetSocketAddress) address;
        }
        throw new StarterException("inherited socket " + channel + " is not a TCP socket (local address "
                + address + ")");
    }

    @Override
    public String toString() {
        return "UndertowServerStarter" + addresses;
    }
}

package org.serverstarter.undertow;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.undertow.UndertowOptions;
import io.undertow.connector.ByteBufferPool;
import io.undertow.server.DefaultByteBufferPool;
import io.undertow.server.HttpHandler;
import io.undertow.server.protocol.http.HttpOpenListener;

import org.serverstarter.adapters.Drain;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.Xnio;
import org.xnio.XnioWorker;
import org.xnio.channels.AcceptingChannel;

/**
 * Serves Undertow HTTP/1.1 on the listening sockets a superdaemon ({@code start_server}) passed down in
 * {@code SERVER_STARTER_PORT}, and drains gracefully when the superdaemon replaces this worker.
 *
 * <pre>{@code
 * HttpHandler app = ...;
 * Optional<UndertowListener> inherited = UndertowListener.listen(app);
 * if (inherited.isPresent()) {
 *     Runtime.getRuntime().addShutdownHook(new Thread(() -> inherited.get().stop(Duration.ofSeconds(30))));
 * } else {
 *     Undertow.builder().addHttpListener(8080, "0.0.0.0").setHandler(app).build().start();
 * }
 * }</pre>
 *
 * <p>Undertow's {@code Builder} can only bind ports itself, so this class does what {@code Undertow.start()}
 * does for an HTTP listener, with the inherited socket in place of a freshly bound one: one XNIO worker, and
 * per socket XNIO's own acceptor (see {@link AdoptedAcceptor}) feeding an {@link HttpOpenListener}. Worker
 * sizing, buffers and server options follow {@code Undertow.builder()}'s defaults.
 *
 * <p>Only TCP entries can be served: XNIO's NIO transport calls {@code ServerSocketChannel.socket()}, which a
 * unix-domain channel does not support, and XNIO has no unix-socket server. A {@code --path} entry therefore
 * fails {@link #listen} with one line; use the Jetty or Netty adapter for unix sockets.
 *
 * <p>Needs the JVM flag {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED} to adopt the inherited fds.
 */
public final class UndertowListener {
    private final XnioWorker worker;
    private final List<AcceptingChannel<StreamConnection>> acceptors;
    private final Object acceptPass;
    private final List<InetSocketAddress> addresses;
    private final Drain drain;
    private Boolean drained;

    private UndertowListener(XnioWorker worker, List<AcceptingChannel<StreamConnection>> acceptors, Object acceptPass,
            List<InetSocketAddress> addresses, Drain drain) {
        this.worker = worker;
        this.acceptors = acceptors;
        this.acceptPass = acceptPass;
        this.addresses = addresses;
        this.drain = drain;
    }

    /**
     * Starts serving {@code root} on every socket in {@code SERVER_STARTER_PORT}, then sends {@code READY=1} to
     * {@code NOTIFY_SOCKET} when that is set (see {@link Readiness}; {@link Readiness#deferReady()} leaves that to
     * the app).
     *
     * <p>It also watches the superdaemon's lifeline ({@link ServerStarter#watchLifeline()}): should the superdaemon
     * die, even by {@code kill -9}, the JVM shuts down as on TERM, so the shutdown hook that calls {@link #stop}
     * drains, instead of serving on as an orphan.
     *
     * @return the running listener, or empty when {@code SERVER_STARTER_PORT} is not set (not under a
     *     superdaemon: bind a port yourself, e.g. with {@code Undertow.builder().addHttpListener})
     * @throws StarterException when the variable is set but unusable: malformed, empty, naming a unix socket,
     *     an fd that is not a listening TCP socket, or the {@code --add-opens} flag is missing
     */
    public static Optional<UndertowListener> listen(HttpHandler root) {
        ServerStarter starter = ServerStarter.fromEnvironment();
        if (!starter.isPresent()) {
            return Optional.empty();
        }
        List<InheritedSocket> sockets = starter.sockets();
        if (sockets.isEmpty()) {
            throw new StarterException("SERVER_STARTER_PORT is empty: start_server was given no --port to serve");
        }
        for (InheritedSocket socket : sockets) {
            if (socket.isUnix()) {
                throw new StarterException("adapter-undertow cannot serve the unix socket " + socket.key()
                        + ": XNIO's NIO transport supports only TCP; use --port, or the Jetty or Netty adapter");
            }
        }
        List<ServerSocketChannel> channels = new ArrayList<>();
        UndertowListener listener;
        try {
            for (InheritedSocket socket : sockets) {
                channels.add(socket.openServerChannel());
            }
            listener = serve(channels, root);
        } catch (RuntimeException | Error e) {
            channels.forEach(IoUtils::safeClose);
            throw e;
        }
        ServerStarter.watchLifeline();
        Readiness.notifyServing();
        return Optional.of(listener);
    }

    /**
     * Serves {@code root} on already bound and listening TCP channels. Package-private so tests can drive the
     * listener in-process on channels they bound themselves.
     */
    static UndertowListener serve(List<ServerSocketChannel> channels, HttpHandler root) {
        XnioWorker worker = startWorker();
        Drain drain = new Drain();
        DrainingHandler handler = new DrainingHandler(root, drain);
        OpenConnections connections = new OpenConnections(drain);
        Object acceptPass = new Object();
        List<AcceptingChannel<StreamConnection>> acceptors = new ArrayList<>();
        List<InetSocketAddress> addresses = new ArrayList<>();
        try {
            ByteBufferPool buffers = bufferPool();
            OptionMap serverOptions = OptionMap.builder()
                    .set(UndertowOptions.NO_REQUEST_TIMEOUT, 60_000)
                    .set(UndertowOptions.BUFFER_PIPELINED_DATA, true)
                    .getMap();
            for (ServerSocketChannel channel : channels) {
                HttpOpenListener openListener = new HttpOpenListener(buffers, serverOptions);
                openListener.setRootHandler(handler);
                AcceptingChannel<StreamConnection> acceptor = AdoptedAcceptor.open(worker, channel,
                        OptionMap.create(Options.TCP_NODELAY, true), acceptPass);
                acceptors.add(acceptor);
                acceptor.getAcceptSetter().set(connections.acceptListener(openListener));
                addresses.add(tcpAddress(acceptor.getLocalAddress(), channel));
            }
            acceptors.forEach(AcceptingChannel::resumeAccepts);
            return new UndertowListener(worker, List.copyOf(acceptors), acceptPass, List.copyOf(addresses), drain);
        } catch (RuntimeException | Error e) {
            acceptors.forEach(IoUtils::safeClose);
            worker.shutdownNow();
            throw e;
        }
    }

    /** The local addresses being served, in {@code SERVER_STARTER_PORT} order. */
    public List<InetSocketAddress> addresses() {
        return addresses;
    }

    /**
     * Drains and stops; call it from the shutdown hook that a TERM from the superdaemon runs. Later calls
     * return the first call's result at once.
     *
     * <ol>
     *   <li>Sends {@code STOPPING=1} to {@code NOTIFY_SOCKET} when that is set, stops accepting and closes this
     *       process's accepting channels. Only our fds are closed, with no {@code shutdown(2)}: the listening
     *       sockets stay open in the superdaemon and the next generation keeps accepting on them.</li>
     *   <li>Keeps serving every connection already accepted. Their responses carry {@code Connection: close},
     *       spread over the first {@link Drain#DEFAULT_SPREAD} (see {@link #stop(Duration, Duration)}), then every
     *       one; Undertow closes the connection once such a response is written.
     *       Exchanges already running finish and close theirs the same way.</li>
     *   <li>Waits until every one of those connections is closed and no exchange is running, at most
     *       {@code drainTimeout}. An idle keep-alive connection is not closed early, since its client may be sending
     *       a request at that very moment: it stays open until its client sends one more request (answered with
     *       {@code Connection: close}) or closes it, so a client that keeps a connection idle holds the drain until
     *       {@code drainTimeout}.</li>
     *   <li>Shuts the XNIO worker down, which closes whatever is left; when the deadline forced that, one line on
     *       standard error says how many connections and exchanges were cut off.</li>
     * </ol>
     *
     * Undertow's {@code GracefulShutdownHandler} is deliberately not used: it answers 503 to requests that
     * arrive on kept-alive connections once shutdown has begun.
     *
     * @return true when every connection closed and every exchange finished within {@code drainTimeout}; false
     *     when the worker was stopped with some still open or running
     */
    public boolean stop(Duration drainTimeout) {
        return stop(drainTimeout, Drain.spreadWithin(drainTimeout));
    }

    /**
     * {@link #stop(Duration)}, with the {@code Connection: close} answers spread over {@code spread} instead of
     * {@link Drain#DEFAULT_SPREAD}: each connection is told to close at its first response after a moment of its
     * own, and those moments are spread evenly over {@code spread}, so that a busy server's clients move to the next
     * generation a few at a time, not all in the same millisecond. {@link Duration#ZERO} closes every connection at
     * its next response.
     *
     * @throws IllegalArgumentException when {@code spread} is negative
     */
    public synchronized boolean stop(Duration drainTimeout, Duration spread) {
        if (drained != null) {
            return drained;
        }
        long deadline = System.nanoTime() + drainTimeout.toNanos();
        drain.begin(spread);
        Readiness.notifyStopping();
        for (AcceptingChannel<StreamConnection> acceptor : acceptors) {
            acceptor.suspendAccepts();
            IoUtils.safeClose(acceptor);
        }
        synchronized (acceptPass) {
            // Entered once the accept thread has queued what it accepted before the close (see AdoptedAcceptor).
        }
        drained = false;
        try {
            awaitHandOffs(deadline);
            drained = drain.awaitNoConnections(deadline) && drain.awaitIdle(Duration.ofNanos(remaining(deadline)));
            if (!drained) {
                System.err.println("UndertowListener: " + drain.openConnections() + " connection(s) still open, "
                        + drain.inFlight() + " exchange(s) running, after " + drainTimeout.toMillis()
                        + " ms; stopping anyway");
            }
            worker.shutdown();
            if (!worker.awaitTermination(Math.max(remaining(deadline), TimeUnit.SECONDS.toNanos(1)),
                    TimeUnit.NANOSECONDS)) {
                worker.shutdownNow();
            }
        } catch (InterruptedException e) {
            worker.shutdownNow();
            Thread.currentThread().interrupt();
        }
        return drained;
    }

    /**
     * Waits until the I/O threads have run the accept listener for every connection the closed acceptors took off
     * the socket: each such connection was queued to its I/O thread, in order, before a task queued now.
     */
    private void awaitHandOffs(long deadline) throws InterruptedException {
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

    private static XnioWorker startWorker() {
        int ioThreads = Math.max(Runtime.getRuntime().availableProcessors(), 2);
        OptionMap options = OptionMap.builder()
                .set(Options.WORKER_IO_THREADS, ioThreads)
                .set(Options.WORKER_TASK_CORE_THREADS, ioThreads * 8)
                .set(Options.WORKER_TASK_MAX_THREADS, ioThreads * 8)
                .set(Options.CONNECTION_HIGH_WATER, 1_000_000)
                .set(Options.CONNECTION_LOW_WATER, 1_000_000)
                .set(Options.TCP_NODELAY, true)
                .set(Options.CORK, true)
                .getMap();
        try {
            return Xnio.getInstance(UndertowListener.class.getClassLoader()).createWorker(options);
        } catch (IOException e) {
            throw new StarterException("cannot start the XNIO worker: " + e, e);
        } catch (ExceptionInInitializerError e) {
            // jboss-threads reads field offsets through sun.misc.Unsafe; JDK 24+ can deny that.
            throw new StarterException("cannot start the XNIO worker (" + e.getCause() + "); on JDK 24 and later"
                    + " jboss-threads needs sun.misc.Unsafe, so do not run with"
                    + " --sun-misc-unsafe-memory-access=deny", e);
        }
    }

    /** Undertow's default buffers: 16 KiB direct (one TLS record, minus header room), smaller on tiny heaps. */
    private static ByteBufferPool bufferPool() {
        long maxMemory = Runtime.getRuntime().maxMemory();
        if (maxMemory < 64L << 20) {
            return new DefaultByteBufferPool(false, 512, -1, 4);
        }
        if (maxMemory < 128L << 20) {
            return new DefaultByteBufferPool(true, 1024, -1, 4);
        }
        return new DefaultByteBufferPool(true, 16 * 1024 - 20, -1, 4);
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
        return "UndertowListener" + addresses;
    }
}

package org.serverstarter.grpc;

import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;
import org.serverstarter.adapters.internal.Contract;
import org.serverstarter.adapters.internal.Notify;
import org.serverstarter.netty.NettyServerStarter;
import org.serverstarter.netty.NettyServerStarter.Transport;
import org.serverstarter.netty.internal.AcceptGate;
import org.serverstarter.netty.internal.AdoptedBind;
import org.serverstarter.netty.internal.EpollAdoption;
import org.serverstarter.netty.internal.NioAdoption;

/**
 * The Server::Starter contract for a grpc-java server on grpc-netty: serves the listening sockets inherited from
 * {@code start_server}, and drains gracefully when the superdaemon retires this generation.
 *
 * <pre>{@code
 * GrpcServerStarter starter = GrpcServerStarter.fromEnvironment();
 * Server server;
 * if (starter.isPresent()) {
 *     server = starter.listen(starter.serverBuilder().addService(new MyService()));
 *     starter.drainOnShutdown(Duration.ofSeconds(30));
 * } else {
 *     server = NettyServerBuilder.forPort(50051).addService(new MyService()).build().start();
 * }
 * server.awaitTermination();
 * }</pre>
 *
 * <p>{@link #serverBuilder()} makes a {@link NettyServerBuilder} whose listen addresses are the inherited sockets' own
 * addresses and whose channel factory hands grpc-netty, for each of them, a server channel adopted on the inherited
 * fd instead of a new socket; grpc-netty's bind of that channel is answered without {@code bind(2)}. Everything else
 * on the builder is the app's: services, interceptors, executor, limits, keep-alive. The superdaemon bound the sockets
 * and keeps listening on them across generations: closing a channel closes only this process's copy of the fd, never
 * shuts the socket down and never deletes a unix socket path.
 *
 * <p>The drain is grpc-java's own graceful shutdown ({@link Server#shutdown()}), which on every HTTP/2 connection sends
 * a {@code GOAWAY} with the largest stream id and a {@code PING}, then, once the client answered the {@code PING}, a
 * second {@code GOAWAY} with the last stream id it took: the client opens new calls on a new connection, which the
 * next generation accepts, and the calls already sent finish here.
 *
 * <p>On the epoll transport the fd number is taken as is, with no JVM flag; on NIO it is wrapped in a JDK channel,
 * which needs {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED}. Needs {@code grpc-netty}, not
 * {@code grpc-netty-shaded}: the shaded one has a Netty of its own, which cannot take these channels.
 */
public final class GrpcServerStarter {
    private final ServerStarter starter;
    private InheritedChannels channels;
    private NettyServerBuilder builder;
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private Server server;
    private Boolean drained;

    private GrpcServerStarter(ServerStarter starter) {
        this.starter = starter;
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from this process's environment.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static GrpcServerStarter fromEnvironment() {
        return of(ServerStarter.fromEnvironment());
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from {@code env}, for tests.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static GrpcServerStarter fromEnvironment(Map<String, String> env) {
        return of(ServerStarter.fromEnvironment(env));
    }

    private static GrpcServerStarter of(ServerStarter starter) {
        if (starter.isPresent()) {
            Contract.socketsToServe(starter);
        }
        return new GrpcServerStarter(starter);
    }

    /**
     * Whether a superdaemon passed sockets down ({@code SERVER_STARTER_PORT} is set). When false, the app builds its
     * server with {@code NettyServerBuilder.forPort} instead of calling {@link #serverBuilder()}.
     */
    public boolean isPresent() {
        return starter.isPresent();
    }

    /**
     * A plaintext (h2c) builder for the inherited sockets: {@link #serverBuilder(ServerCredentials)} without
     * credentials.
     */
    public NettyServerBuilder serverBuilder() {
        return serverBuilder(null, NettyServerStarter.transport());
    }

    /**
     * A builder that serves every inherited socket, in the order of {@code SERVER_STARTER_PORT}, with
     * {@code credentials} (for instance {@code TlsServerCredentials}). It adopts the inherited fds now, on epoll when
     * Netty's native library loads and on NIO otherwise, with boss and worker event loops of that transport (daemon
     * threads, as grpc-netty's own). Add services and settings to it, then start it with {@link #listen}. Do not
     * change its listen addresses, channel type or factory, or event loop groups.
     *
     * @throws StarterException when an inherited fd is not a listening socket of the kind its entry names, there is
     *     none, or (NIO) the JVM flag is missing
     * @throws IllegalStateException when not under a superdaemon ({@link #isPresent()} is false), or when called a
     *     second time
     */
    public NettyServerBuilder serverBuilder(ServerCredentials credentials) {
        return serverBuilder(credentials, NettyServerStarter.transport());
    }

    /** {@link #serverBuilder(ServerCredentials)} on {@code transport}, for tests of both transports. */
    synchronized NettyServerBuilder serverBuilder(ServerCredentials credentials, Transport transport) {
        requirePresent("serverBuilder");
        if (builder != null) {
            // A second channel on the same fd would close it under the first one.
            throw new IllegalStateException("GrpcServerStarter.serverBuilder was already called");
        }
        List<InheritedSocket> sockets = starter.sockets(); // not empty: fromEnvironment checked
        List<ServerChannel> adopted = new ArrayList<>();
        List<SocketAddress> addresses = new ArrayList<>();
        try {
            for (InheritedSocket socket : sockets) {
                ServerChannel channel = transport == Transport.EPOLL
                        ? EpollAdoption.adopt(socket) : NioAdoption.adopt(socket);
                adopted.add(channel);
                addresses.add(AdoptedBind.install(channel, socket, "grpc-netty", "this grpc-netty no longer makes its "
                        + "server channels in the order of its listen addresses"));
            }
        } catch (RuntimeException e) {
            adopted.forEach(Channel::close);
            throw e;
        }
        channels = new InheritedChannels(adopted);
        boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("grpc-inherited-boss", true),
                transport.ioHandlerFactory());
        workers = new MultiThreadIoEventLoopGroup(0, new DefaultThreadFactory("grpc-inherited-worker", true),
                transport.ioHandlerFactory());
        NettyServerBuilder made = credentials == null
                ? NettyServerBuilder.forAddress(addresses.get(0))
                : NettyServerBuilder.forAddress(addresses.get(0), credentials);
        for (SocketAddress address : addresses.subList(1, addresses.size())) {
            made.addListenAddress(address);
        }
        builder = made.channelFactory(channels).bossEventLoopGroup(boss).workerEventLoopGroup(workers);
        return builder;
    }

    /** The worker event loops of the builder {@link #serverBuilder} made, for tests that hold them up. */
    synchronized EventLoopGroup workers() {
        return workers;
    }

    /**
     * Builds and starts the server of {@code builder}, which must be the one {@link #serverBuilder} made, then sends
     * {@code READY=1} to {@code NOTIFY_SOCKET} when that is set (see {@link Readiness};
     * {@link Readiness#deferReady()} leaves that to the app, and the sockets then accept only once it calls
     * {@link Readiness#notifyReady()}): once {@code start()} returns, every inherited socket accepts.
     *
     * <p>It also watches the superdaemon's lifeline ({@link ServerStarter#watchLifeline()}): should the superdaemon
     * die, even by {@code kill -9}, the JVM shuts down as on TERM, draining through {@link #drainOnShutdown}, instead of
     * serving on as an orphan.
     *
     * @return the started server
     * @throws StarterException when the server cannot start on the inherited sockets (the line says why)
     * @throws IllegalArgumentException when {@code builder} is not the one {@link #serverBuilder} made
     * @throws IllegalStateException when called a second time
     */
    public synchronized Server listen(NettyServerBuilder builder) {
        if (builder == null || builder != this.builder) {
            throw new IllegalArgumentException("GrpcServerStarter.listen takes the builder that its serverBuilder() "
                    + "made, not " + builder);
        }
        if (server != null) {
            throw new IllegalStateException("GrpcServerStarter.listen was already called");
        }
        Server built = builder.build();
        try {
            built.start();
        } catch (IOException | RuntimeException e) {
            stopAfterFailedStart(built);
            throw new StarterException("cannot start the gRPC server on " + starter.sockets() + ": "
                    + channels.mismatch().orElseGet(() -> why(e)), e);
        }
        if (channels.mismatch().isPresent()) {
            stopAfterFailedStart(built);
            throw new StarterException("cannot serve " + starter.sockets() + ": " + channels.mismatch().get());
        }
        server = built;
        ServerStarter.watchLifeline();
        AcceptGate.openWhenReady(channels.channels());
        Notify.serving();
        return built;
    }

    private void stopAfterFailedStart(Server built) {
        built.shutdownNow();
        channels.channels().forEach(Channel::close);
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** The innermost message of {@code e}: grpc-netty wraps the reason in "Failed to bind to address". */
    private static String why(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + cause + ")";
    }

    /**
     * Drains this process, and blocks until done; later calls return the first call's result at once.
     *
     * <ol>
     *   <li>Sends {@code STOPPING=1} to {@code NOTIFY_SOCKET} when that is set, and closes the inherited sockets'
     *       server channels: only this process's fds, with no {@code shutdown(2)}, so the next generation keeps
     *       accepting on the same sockets. It then waits until every connection accepted before that close is known to
     *       the server, which would otherwise close one that is still being set up without a {@code GOAWAY}.</li>
     *   <li>{@link Server#shutdown()}: every connection gets the two {@code GOAWAY}s (see the class comment), no new
     *       call starts on it, and the calls already sent run to their end.</li>
     *   <li>{@link Server#awaitTermination(long, TimeUnit)} for what is left of {@code timeout}; calls still running
     *       then are cancelled ({@link Server#shutdownNow()}), with one line on standard error.</li>
     * </ol>
     *
     * @return true when every call finished and every connection closed within {@code timeout}
     * @throws IllegalStateException when {@link #listen} did not start a server
     */
    public synchronized boolean drain(Duration timeout) {
        if (server == null) {
            throw new IllegalStateException("GrpcServerStarter.drain needs the server that listen started");
        }
        if (drained != null) {
            return drained;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        Readiness.notifyStopping();
        for (Channel channel : channels.channels()) {
            channel.close().awaitUninterruptibly(remainingMillis(deadline));
        }
        // Each connection accepted before the close is registered, and only then handed to the server, by a task
        // already queued on its worker loop; one more task on every loop runs after all of those.
        for (EventExecutor loop : workers) {
            loop.submit(() -> { }).awaitUninterruptibly(remainingMillis(deadline));
        }
        server.shutdown();
        drained = false;
        try {
            drained = server.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (!drained) {
                System.err.println("GrpcServerStarter: calls still running after " + timeout.toMillis()
                        + " ms; cancelling them");
                server.shutdownNow();
                server.awaitTermination(1, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
        }
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        return drained;
    }

    /**
     * Drains (see {@link #drain}) when the JVM shuts down: on the {@code SIGTERM} with which the superdaemon retires an
     * old generation, on INT, or once the lifeline says the superdaemon is gone. The JVM exits when the drain returns.
     * Do not shut the server down in another shutdown hook, since hooks run concurrently; call {@link #drain} from your
     * own hook instead.
     *
     * @throws IllegalStateException when {@link #listen} did not start a server
     */
    public synchronized void drainOnShutdown(Duration timeout) {
        if (server == null) {
            throw new IllegalStateException("call GrpcServerStarter.listen(builder) before drainOnShutdown");
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> drain(timeout), "server-starter-drain"));
    }

    private void requirePresent(String verb) {
        if (!isPresent()) {
            throw new IllegalStateException(Contract.PORT_VARIABLE + " is not set: not under start_server, so use "
                    + "NettyServerBuilder.forPort instead of calling " + verb);
        }
    }

    private static long remainingMillis(long deadline) {
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }
}

package org.serverstarter.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;
import org.serverstarter.adapters.internal.Contract;
import org.serverstarter.adapters.internal.Drain;
import org.serverstarter.adapters.internal.Notify;
import org.serverstarter.netty.internal.AcceptGate;
import org.serverstarter.netty.internal.EpollAdoption;
import org.serverstarter.netty.internal.Http2GoAway;
import org.serverstarter.netty.internal.HttpDrainHandler;
import org.serverstarter.netty.internal.NioAdoption;

/**
 * The Server::Starter contract for a Netty {@link ServerBootstrap}: serves the listening sockets inherited from
 * {@code start_server}, and drains gracefully when the superdaemon retires this generation.
 *
 * <pre>{@code
 * NettyServerStarter starter = NettyServerStarter.fromEnvironment();
 * NettyServerStarter.Transport transport = NettyServerStarter.transport();
 * EventLoopGroup group = new MultiThreadIoEventLoopGroup(transport.ioHandlerFactory());
 * ServerBootstrap bootstrap = new ServerBootstrap().group(group).childHandler(new ChannelInitializer<Channel>() {
 *     protected void initChannel(Channel ch) {
 *         ch.pipeline().addLast(new HttpServerCodec(), starter.httpDrainHandler(), new MyHandler());
 *     }
 * });
 * if (starter.isPresent()) {
 *     starter.register(bootstrap);
 *     starter.drainOnShutdown(Duration.ofSeconds(30));
 * } else {
 *     bootstrap.channel(transport.serverSocketChannel()).bind(8080).sync();
 * }
 * }</pre>
 *
 * <p>Each inherited socket gets one server channel that is {@linkplain ServerBootstrap#register() registered}, never
 * bound: the superdaemon already bound it and keeps listening on it across generations. Closing such a channel
 * closes only this process's copy of the fd; it never shuts the socket down and never deletes a unix socket path.
 *
 * <p>The {@link Transport#EPOLL} transport takes the fd number as is and needs no JVM flag. {@link Transport#NIO}
 * wraps the fd in a JDK channel, which needs {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED}.
 */
public final class NettyServerStarter {
    /** Whether {@code netty-codec-http2} is on the class path: only then can a connection speak HTTP/2. */
    private static final boolean HTTP2 = isPresent("io.netty.handler.codec.http2.Http2ConnectionHandler");

    /**
     * The Netty transport of the event loops. The channels this class creates must match the event loop group the
     * app builds, so the app builds its group from {@link #ioHandlerFactory()} of the same constant.
     */
    public enum Transport {
        /** Linux native epoll: adopts the fd number directly, no JVM flag needed. */
        EPOLL(EpollIoHandler.class, EpollServerSocketChannel.class),
        /** JDK NIO: adopts the fd as a JDK channel, needs {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED}. */
        NIO(NioIoHandler.class, NioServerSocketChannel.class);

        private final Class<? extends IoHandler> ioHandler;
        private final Class<? extends ServerSocketChannel> serverSocketChannel;

        Transport(Class<? extends IoHandler> ioHandler, Class<? extends ServerSocketChannel> serverSocketChannel) {
            this.ioHandler = ioHandler;
            this.serverSocketChannel = serverSocketChannel;
        }

        /** The factory to build the event loop group with, e.g. {@code new MultiThreadIoEventLoopGroup(factory)}. */
        public IoHandlerFactory ioHandlerFactory() {
            if (this == EPOLL) {
                Epoll.ensureAvailability();
                return EpollIoHandler.newFactory();
            }
            return NioIoHandler.newFactory();
        }

        /** The TCP server channel class of this transport, for binding a port when not under a superdaemon. */
        public Class<? extends ServerSocketChannel> serverSocketChannel() {
            return serverSocketChannel;
        }

        static Transport of(EventLoopGroup group, String role) {
            if (group instanceof IoEventLoopGroup) {
                for (Transport t : values()) {
                    if (((IoEventLoopGroup) group).isIoType(t.ioHandler)) {
                        return t;
                    }
                }
            }
            throw new IllegalArgumentException("the bootstrap's " + role + " must be a MultiThreadIoEventLoopGroup built "
                    + "from NettyServerStarter.Transport.EPOLL or NIO ioHandlerFactory(), not " + group);
        }
    }

    private final ServerStarter starter;
    private final Drain drain = new Drain();
    private final ChannelGroup connections =
            new DefaultChannelGroup("server-starter connections", GlobalEventExecutor.INSTANCE);
    private final List<Channel> serverChannels = new CopyOnWriteArrayList<>();
    private volatile EventLoopGroup childLoops;
    private boolean registered;

    private NettyServerStarter(ServerStarter starter) {
        this.starter = starter;
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from this process's environment.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static NettyServerStarter fromEnvironment() {
        return of(ServerStarter.fromEnvironment());
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from {@code env}, for tests.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static NettyServerStarter fromEnvironment(Map<String, String> env) {
        return of(ServerStarter.fromEnvironment(env));
    }

    private static NettyServerStarter of(ServerStarter starter) {
        if (starter.isPresent()) {
            Contract.socketsToServe(starter);
        }
        return new NettyServerStarter(starter);
    }

    /** Epoll on Linux when Netty's native library loads, NIO otherwise. */
    public static Transport transport() {
        return Epoll.isAvailable() ? Transport.EPOLL : Transport.NIO;
    }

    /**
     * Whether a superdaemon passed sockets down ({@code SERVER_STARTER_PORT} is set). When false, the app binds its own
     * port instead of calling {@link #register}.
     */
    public boolean isPresent() {
        return starter.isPresent();
    }

    /**
     * Registers one server channel per inherited socket, with the bootstrap's group, options and handlers, and
     * waits until all are registered and accepting. The bootstrap itself is left unchanged (a clone is used), so it
     * needs no channel class; its groups decide the transport.
     * Then sends {@code READY=1} to {@code NOTIFY_SOCKET} when that is set (see {@link Readiness};
     * {@link Readiness#deferReady()} leaves that to the app, and the channels then accept only once it calls
     * {@link Readiness#notifyReady()}).
     *
     * <p>It also watches the superdaemon's lifeline ({@link ServerStarter#watchLifeline()}): should the superdaemon
     * die, even by {@code kill -9}, the JVM shuts down as on TERM, draining through {@link #drainOnShutdown}, instead of
     * serving on as an orphan.
     *
     * @return the server channels, in the order of {@code SERVER_STARTER_PORT}
     * @throws StarterException when an inherited fd is not a listening socket of the kind its entry names, or (NIO)
     *     the JVM flag is missing
     * @throws IllegalArgumentException when the bootstrap's groups are not built from a {@link Transport}
     * @throws IllegalStateException when not under a superdaemon ({@link #isPresent()} is false), or when called a
     *     second time
     */
    public synchronized List<Channel> register(ServerBootstrap bootstrap) {
        if (!isPresent()) {
            throw new IllegalStateException(Contract.PORT_VARIABLE + " is not set: not under start_server, so bind a "
                    + "port of your own instead of calling register");
        }
        if (registered) {
            // A second channel on the same fd would close it under the first one.
            throw new IllegalStateException("NettyServerStarter.register was already called");
        }
        Transport transport = Transport.of(bootstrap.config().group(), "group");
        EventLoopGroup childGroup = bootstrap.config().childGroup();
        if (childGroup != null && Transport.of(childGroup, "childGroup") != transport) {
            throw new IllegalArgumentException("the bootstrap's group and childGroup use different transports");
        }
        ChannelHandler appChildHandler = bootstrap.config().childHandler();
        if (appChildHandler == null) {
            throw new IllegalArgumentException("the bootstrap has no childHandler");
        }
        List<ServerChannel> adopted = new ArrayList<>();
        try {
            for (InheritedSocket socket : starter.sockets()) {
                adopted.add(transport == Transport.EPOLL ? EpollAdoption.adopt(socket) : NioAdoption.adopt(socket));
            }
        } catch (RuntimeException e) {
            adopted.forEach(Channel::close);
            throw e;
        }
        registered = true;
        childLoops = childGroup != null ? childGroup : bootstrap.config().group();
        ChannelHandler tracked = new ConnectionTracker(connections, appChildHandler);
        try {
            for (ServerChannel channel : adopted) {
                ChannelFactory<ServerChannel> factory = () -> channel;
                bootstrap.clone().childHandler(tracked).channelFactory(factory).register().syncUninterruptibly();
                serverChannels.add(channel);
            }
        } catch (RuntimeException e) {
            adopted.forEach(Channel::close);
            throw e;
        }
        ServerStarter.watchLifeline();
        AcceptGate.openWhenReady(serverChannels);
        Notify.serving();
        return List.copyOf(serverChannels);
    }

    /**
     * A new handler for one HTTP/1.x connection, to add right after the server codec (and before the app's
     * handler). It counts requests in flight, and once draining has begun it marks responses with
     * {@code Connection: close} and closes the connection after writing one: spread over the first
     * 200 ms of the drain, so that the clients do not all reconnect to the next generation at
     * once, and then every one. Needs {@code netty-codec-http} on the class path.
     */
    public ChannelHandler httpDrainHandler() {
        return new HttpDrainHandler(drain);
    }

    /** Whether draining has begun; a non-HTTP protocol checks this to end its connections when convenient. */
    public boolean isDraining() {
        return drain.isDraining();
    }

    /**
     * Drains this process: closes the server channels (this process's copies of the fds only, so the next
     * generation keeps accepting on the same sockets), lets the connections finish their requests and close
     * themselves, and at the deadline closes the connections that are left. Each HTTP/2 connection (one whose
     * pipeline has an {@code Http2ConnectionHandler}, such as {@code Http2FrameCodec}, now or once ALPN chose h2) gets
     * a graceful GOAWAY in two steps: the highest stream id, then one second later the last stream taken; it closes
     * once its active streams have closed. Blocks until then. Sends
     * {@code STOPPING=1} to {@code NOTIFY_SOCKET}, when that is set, as it begins.
     *
     * @return true when every request finished and every connection closed before the deadline
     */
    public boolean drain(Duration timeout) {
        return drain(timeout, Drain.spreadWithin(timeout));
    }

    /**
     * {@link #drain(Duration)}, with the {@code Connection: close} answers of {@link #httpDrainHandler()} spread over
     * {@code spread} instead of 200 ms: each connection is told to close at its first response
     * after a moment of its own, and those moments are spread evenly over {@code spread}, so that a busy server's
     * clients move to the next generation a few at a time, not all in the same millisecond. {@link Duration#ZERO}
     * closes every connection at its next response.
     *
     * @throws IllegalArgumentException when {@code spread} is negative
     */
    public boolean drain(Duration timeout, Duration spread) {
        long deadline = System.nanoTime() + timeout.toNanos();
        drain.begin(spread);
        Readiness.notifyStopping();
        for (Channel channel : serverChannels) {
            channel.close().awaitUninterruptibly(remainingMillis(deadline));
        }
        // A connection accepted just before its server channel closed is registered, and only then recorded, by a
        // task already queued on its event loop. Taking stock before those tasks ran missed it, and the JVM then
        // exited under its first request (a client saw the connection close without an answer).
        EventLoopGroup loops = childLoops;
        if (loops != null) {
            for (EventExecutor loop : loops) {
                loop.submit(() -> { }).awaitUninterruptibly(remainingMillis(deadline));
            }
        }
        if (HTTP2) {
            for (Channel connection : connections) {
                Http2GoAway.begin(connection, Http2GoAway.GRACE);
            }
        }
        boolean idle;
        try {
            idle = drain.awaitIdle(Duration.ofNanos(deadline - System.nanoTime()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            idle = false;
        }
        for (Channel connection : connections) {
            idle &= connection.closeFuture().awaitUninterruptibly(remainingMillis(deadline));
        }
        // Whatever is still open at the deadline is an idle keep-alive connection or a stuck request.
        connections.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        return idle;
    }

    /**
     * Drains (see {@link #drain}) when the JVM shuts down, e.g. on the {@code SIGTERM} with which the superdaemon
     * retires an old generation. The JVM exits when the drain returns. Do not shut the event loop groups down in
     * another shutdown hook, since hooks run concurrently; call {@link #drain} from your own hook instead.
     */
    public void drainOnShutdown(Duration timeout) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> drain(timeout), "server-starter-drain"));
    }

    private static boolean isPresent(String className) {
        try {
            Class.forName(className, false, NettyServerStarter.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    private static long remainingMillis(long deadline) {
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }
}

package org.serverstarter.reactor.netty;

import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;
import org.serverstarter.adapters.internal.Contract;
import org.serverstarter.adapters.internal.Drain;
import org.serverstarter.adapters.internal.Notify;
import org.serverstarter.netty.internal.AcceptGate;
import org.serverstarter.netty.internal.AdoptedBind;
import org.serverstarter.netty.internal.EpollAdoption;
import org.serverstarter.netty.internal.Http2GoAway;
import org.serverstarter.netty.internal.HttpDrainHandler;
import org.serverstarter.netty.internal.NioAdoption;
import reactor.netty.ConnectionObserver;
import reactor.netty.DisposableServer;
import reactor.netty.NettyPipeline;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.LoopResources;

/**
 * The Server::Starter contract for a Reactor Netty {@link HttpServer}: serves the listening sockets inherited from
 * {@code start_server}, and drains gracefully when the superdaemon retires this generation.
 *
 * <pre>{@code
 * ReactorNettyServerStarter starter = ReactorNettyServerStarter.fromEnvironment();
 * HttpServer server = HttpServer.create().handle((request, response) -> response.sendString(Mono.just("hello\n")));
 * List<DisposableServer> servers;
 * if (starter.isPresent()) {
 *     servers = starter.bind(server);
 *     starter.drainOnShutdown(Duration.ofSeconds(30));
 * } else {
 *     servers = List.of(server.host("127.0.0.1").port(8080).bindNow());
 * }
 * servers.get(0).onDispose().block();
 * }</pre>
 *
 * <p>Each inherited socket becomes the server channel of one bind: Reactor Netty creates a bind's server channel
 * through {@link LoopResources#onChannel}, and {@link #adopt} answers that call with a channel on the inherited fd and
 * answers the bind itself without calling {@code bind(2)}. The superdaemon already bound the socket and keeps listening
 * on it across generations; closing the channel closes only this process's copy of the fd, never shuts the socket
 * down and never deletes a unix socket path.
 *
 * <p>On the epoll transport the fd number is taken as is, with no JVM flag; on NIO it is wrapped in a JDK channel,
 * which needs {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED}.
 */
public final class ReactorNettyServerStarter {
    private static final String DRAIN_HANDLER = "serverStarter.drain";
    private static final String READ_AFTER_RESPONSE = "serverStarter.readAfterResponse";

    private final ServerStarter starter;
    private final Drain drain = new Drain();
    private final ChannelGroup connections =
            new DefaultChannelGroup("server-starter connections", GlobalEventExecutor.INSTANCE);
    private final Set<EventLoopGroup> childLoops = ConcurrentHashMap.newKeySet();
    // By fd, in the order adopted; guarded by this.
    private final Map<Integer, ServerChannel> adopted = new LinkedHashMap<>();
    private final Set<Integer> serving = new HashSet<>();
    private boolean readySent;

    private ReactorNettyServerStarter(ServerStarter starter) {
        this.starter = starter;
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from this process's environment.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static ReactorNettyServerStarter fromEnvironment() {
        return of(ServerStarter.fromEnvironment());
    }

    /**
     * Reads {@code SERVER_STARTER_PORT} from {@code env}, for tests.
     *
     * @throws StarterException when the variable is set but malformed or names no socket
     */
    public static ReactorNettyServerStarter fromEnvironment(Map<String, String> env) {
        return of(ServerStarter.fromEnvironment(env));
    }

    private static ReactorNettyServerStarter of(ServerStarter starter) {
        if (starter.isPresent()) {
            Contract.socketsToServe(starter);
        }
        return new ReactorNettyServerStarter(starter);
    }

    /**
     * Whether a superdaemon passed sockets down ({@code SERVER_STARTER_PORT} is set). When false, the app binds its own
     * port instead of calling {@link #bind}.
     */
    public boolean isPresent() {
        return starter.isPresent();
    }

    /** The inherited sockets, in the order of {@code SERVER_STARTER_PORT}; empty without a superdaemon. */
    public List<InheritedSocket> sockets() {
        return starter.isPresent() ? starter.sockets() : List.of();
    }

    /**
     * Serves {@code server} (its handler, options and event loops) on every inherited socket: {@link #bind(HttpServer,
     * List)} with {@link #sockets()}.
     *
     * @return one bound server per inherited socket, in the order of {@code SERVER_STARTER_PORT}
     */
    public List<DisposableServer> bind(HttpServer server) {
        requirePresent("bind");
        return bind(server, sockets());
    }

    /**
     * Serves {@code server} on each of {@code sockets}: {@link #adopt} each, then {@code bindNow()} each. Once every
     * inherited socket is served, by this call or by servers bound after {@link #adopt}, sends {@code READY=1} to
     * {@code NOTIFY_SOCKET} when that is set (see {@link Readiness}; {@link Readiness#deferReady()} leaves that to the
     * app). Should one fail, the channels adopted by this call are closed and the servers it bound disposed.
     *
     * @return one bound server per socket, in the order given
     * @throws StarterException when an fd is not a listening socket of the kind its entry names, or (NIO) the JVM flag
     *     is missing
     * @throws IllegalStateException when not under a superdaemon, or when a socket was adopted before
     * @throws IllegalArgumentException when a socket is not an entry of this {@code SERVER_STARTER_PORT}, or Reactor
     *     Netty would run the server on a transport other than epoll or NIO
     */
    public List<DisposableServer> bind(HttpServer server, List<InheritedSocket> sockets) {
        requirePresent("bind");
        List<HttpServer> adopting = new ArrayList<>();
        List<DisposableServer> bound = new ArrayList<>();
        try {
            for (InheritedSocket socket : sockets) {
                adopting.add(adopt(server, socket));
            }
            for (HttpServer one : adopting) {
                bound.add(one.bindNow());
            }
        } catch (RuntimeException e) {
            bound.forEach(DisposableServer::dispose);
            for (HttpServer one : adopting) {
                ((InheritedLoopResources) one.configuration().loopResources()).channel().close();
            }
            throw e;
        }
        readyIfAllServed();
        return List.copyOf(bound);
    }

    /**
     * Returns {@code server} set up to serve {@code socket} when it is bound, for code that binds the server itself
     * (Spring Boot's {@code NettyWebServer} does). The fd is checked and wrapped in a server channel now, on the
     * transport the server's event loops use; the bind then registers that channel and does not call {@code bind(2)}.
     * The returned server can be bound once.
     *
     * <p>Apply it last: a later {@code runOn} replaces what serves the socket (the bind then fails with "address already
     * in use", as {@code bindAddress} is the socket's own address), and a later {@code bindAddress} fails the bind,
     * naming the socket.
     *
     * <p>Every bound server also watches the superdaemon's lifeline ({@link ServerStarter#watchLifeline()}), and the
     * one that completes the set of inherited sockets sends {@code READY=1} (see {@link #bind(HttpServer, List)}).
     *
     * @throws StarterException when the fd is not a listening socket of the kind its entry names, or (NIO) the JVM flag
     *     is missing
     * @throws IllegalStateException when not under a superdaemon, or when {@code socket} was adopted before
     * @throws IllegalArgumentException when {@code socket} is not an entry of this {@code SERVER_STARTER_PORT}, when
     *     {@code server} adopts a socket already, or when Reactor Netty would run it on a transport other than epoll or
     *     NIO
     */
    public HttpServer adopt(HttpServer server, InheritedSocket socket) {
        requirePresent("adopt");
        InheritedSocket entry = entryFor(socket);
        LoopResources loops = server.configuration().loopResources();
        if (loops instanceof InheritedLoopResources) {
            throw new IllegalArgumentException("this HttpServer adopts " + ((InheritedLoopResources) loops).socket()
                    + " already; adopt " + socket + " with the HttpServer it was made from");
        }
        boolean preferNative = server.configuration().isPreferNative();
        InheritedLoopResources inherited;
        SocketAddress address;
        synchronized (this) {
            if (adopted.containsKey(entry.fd())) {
                // A second channel on the same fd would close it under the first.
                throw new IllegalStateException(entry + " was adopted already");
            }
            ServerChannel channel = newChannel(entry,
                    loops.onChannelClass(ServerSocketChannel.class, loops.onServerSelect(preferNative)));
            address = AdoptedBind.install(channel, entry, "Reactor Netty", "a bindAddress set after adopt replaces "
                    + "the socket's own address");
            adopted.put(entry.fd(), channel);
            inherited = new InheritedLoopResources(loops, entry, channel, childLoops::add);
        }
        ServerChannel channel = inherited.channel();
        return server.runOn(inherited, preferNative)
                // Should Reactor Netty ever make the server channel some other way, it binds a new socket to this
                // address, and that fails with "address already in use" instead of serving a socket of its own.
                .bindAddress(() -> address)
                .doOnChannelInit(this::connectionOpened)
                .doOnBound(bound -> served(entry, channel, bound));
    }

    private static ServerChannel newChannel(InheritedSocket socket, Class<? extends ServerSocketChannel> kind) {
        if (EpollServerSocketChannel.class.isAssignableFrom(kind)) {
            return EpollAdoption.adopt(socket);
        }
        if (NioServerSocketChannel.class.isAssignableFrom(kind)) {
            return NioAdoption.adopt(socket);
        }
        throw new IllegalArgumentException("Reactor Netty would serve " + socket + " with a " + kind.getName()
                + ", and inherited sockets can be served on epoll or NIO only (HttpServer.runOn(loops, false) picks "
                + "NIO)");
    }

    private InheritedSocket entryFor(InheritedSocket socket) {
        for (InheritedSocket entry : starter.sockets()) {
            if (entry.fd() == socket.fd() && entry.key().equals(socket.key())) {
                return entry;
            }
        }
        throw new IllegalArgumentException(socket + " is not an entry of " + Contract.PORT_VARIABLE + "="
                + starter.sockets().stream().map(InheritedSocket::toString).reduce((a, b) -> a + ";" + b).orElse(""));
    }

    private void requirePresent(String verb) {
        if (!isPresent()) {
            throw new IllegalStateException(Contract.PORT_VARIABLE + " is not set: not under start_server, so bind a "
                    + "port of your own instead of calling " + verb);
        }
    }

    /** Follows each connection, for the drain, and adds the drain handler to an HTTP/1.x pipeline. */
    private void connectionOpened(ConnectionObserver observer, Channel connection, SocketAddress remote) {
        connections.add(connection);
        ChannelPipeline pipeline = connection.pipeline();
        // Plain HTTP/1.1 (with or without TLS) has its codec in place by now. HTTP/2 and h2c have Http2FrameCodec, which
        // the drain finds then (Http2GoAway); an HTTP/1.1 negotiated by ALPN gets its codec later, without this
        // handler, and such a connection is closed at the drain's deadline unless its client closes it first.
        if (pipeline.get(NettyPipeline.HttpCodec) instanceof HttpServerCodec && pipeline.get(DRAIN_HANDLER) == null) {
            pipeline.addAfter(NettyPipeline.HttpCodec, DRAIN_HANDLER, new HttpDrainHandler(drain));
            pipeline.addAfter(DRAIN_HANDLER, READ_AFTER_RESPONSE, new ReadAfterResponse());
        }
    }

    private void served(InheritedSocket socket, ServerChannel channel, DisposableServer bound) {
        if (bound.channel() != channel) {
            bound.dispose();
            throw new IllegalStateException("Reactor Netty bound " + bound.channel() + " instead of serving " + socket
                    + ": this Reactor Netty version no longer makes server channels through LoopResources.onChannel");
        }
        ServerStarter.watchLifeline();
        AcceptGate.openWhenReady(List.of(channel));
        synchronized (this) {
            serving.add(socket.fd());
        }
        readyIfAllServed();
    }

    private void readyIfAllServed() {
        synchronized (this) {
            if (readySent || !serving.containsAll(sockets().stream().map(InheritedSocket::fd).toList())) {
                return;
            }
            readySent = true;
        }
        Notify.serving();
    }

    /** Whether the drain has begun. */
    public boolean isDraining() {
        return drain.isDraining();
    }

    /**
     * Drains this process: closes the inherited sockets' server channels (this process's copies of the fds only, so
     * the next generation keeps accepting on the same sockets), lets the connections finish their requests, answers
     * each HTTP/1.x connection's next response with {@code Connection: close} and closes it after that response, ends
     * each HTTP/2 connection (H2 over TLS, H2C) with a graceful GOAWAY ({@code 2147483647}, then one second later the
     * last stream taken) and closes it once its streams have finished, and at the deadline closes the connections
     * that are left. Blocks until the last connection closed or the deadline.
     * Sends {@code STOPPING=1} to {@code NOTIFY_SOCKET}, when that is set, as it begins.
     *
     * @return true when every request finished and every connection closed before the deadline
     */
    public boolean drain(Duration timeout) {
        return drain(timeout, Drain.spreadWithin(timeout));
    }

    /**
     * {@link #drain(Duration)}, with the {@code Connection: close} answers spread over {@code spread} instead of
     * 200 ms: each connection is told to close at its first response after a moment of its own, and those moments are
     * spread evenly over {@code spread}, so that a busy server's clients move to the next generation a few at a time.
     * {@link Duration#ZERO} closes every connection at its next response.
     *
     * @throws IllegalArgumentException when {@code spread} is negative
     */
    public boolean drain(Duration timeout, Duration spread) {
        long deadline = System.nanoTime() + timeout.toNanos();
        drain.begin(spread);
        Readiness.notifyStopping();
        List<ServerChannel> channels;
        synchronized (this) {
            channels = List.copyOf(adopted.values());
        }
        for (Channel channel : channels) {
            channel.close().awaitUninterruptibly(remainingMillis(deadline));
        }
        // A connection accepted just before its server channel closed is initialised, and only then followed, by a
        // task already queued on its event loop: taking stock before those tasks ran would miss it.
        for (EventLoopGroup loops : childLoops) {
            for (EventExecutor loop : loops) {
                loop.submit(() -> { }).awaitUninterruptibly(remainingMillis(deadline));
            }
        }
        for (Channel connection : connections) {
            Http2GoAway.begin(connection, Http2GoAway.GRACE);
        }
        boolean idle;
        try {
            idle = drain.awaitIdle(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
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
     * retires an old generation, or once the lifeline says the superdaemon is gone. The JVM exits when the drain
     * returns. Do not dispose the servers or their event loops in another shutdown hook, since hooks run
     * concurrently; call {@link #drain} from your own hook instead.
     */
    public void drainOnShutdown(Duration timeout) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> drain(timeout), "server-starter-drain"));
    }

    private static long remainingMillis(long deadline) {
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }
}

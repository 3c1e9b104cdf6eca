package org.serverstarter.samples.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.internal.WarmUpClient;
import org.serverstarter.netty.NettyServerStarter;
import org.serverstarter.samples.Settings;
import org.serverstarter.samples.SleepParameter;
import org.serverstarter.samples.Startup;
import org.serverstarter.samples.Tls;
import org.serverstarter.samples.WarmUp;

/**
 * A Netty HTTP app that serves the sockets inherited from {@code start_server} through {@link NettyServerStarter}, or
 * 127.0.0.1:$PORT when started on its own. See the samples README for the routes and variables.
 */
public final class NettySampleApp {
    private static final String NAME = "netty-sample";
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(40);

    private NettySampleApp() {}

    public static void main(String[] args) {
        Startup.run(NAME, NettySampleApp::serve);
    }

    private static void serve(Settings settings) throws Exception {
        NettyServerStarter starter = NettyServerStarter.fromEnvironment();
        NettyServerStarter.Transport transport = NettyServerStarter.transport();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(transport.ioHandlerFactory());
        String generation = Long.toString(settings.generation());
        // Under SAMPLE_TLS: Netty's own TLS, HTTP/2 and HTTP/1.1 over ALPN; the keystore is read now.
        SslContext tls = settings.tls().isPresent() ? serverTls(settings.tls().get()) : null;
        // No channel class here: NettyServerStarter.register() supplies the adopted channels itself.
        ServerBootstrap bootstrap = new ServerBootstrap().group(group)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls == null) {
                            http11(ch.pipeline(), starter, generation);
                        } else {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()), new AlpnChoice(starter, generation));
                        }
                    }
                });
        if (!starter.isPresent()) {
            System.out.println(settings.fallbackNotice(NAME));
            Channel own = bootstrap.channel(transport.serverSocketChannel())
                    .bind("127.0.0.1", settings.fallbackPort()).sync().channel();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                own.close().awaitUninterruptibly();
                group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly();
            }));
            return;
        }
        // READY=1 only after the warm-up below, not as soon as the channels accept.
        Readiness.deferReady();
        List<Channel> channels = starter.register(bootstrap);
        starter.drainOnShutdown(DRAIN_TIMEOUT);
        System.out.println(NAME + ": generation " + generation + " pid " + ProcessHandle.current().pid()
                + " serving " + channels.size() + " inherited socket(s) with " + transport);
        WarmUp.thenAnnounce(settings, NAME, new WarmUpClient.Port() {
            private Channel warmUp;

            @Override
            public InetSocketAddress open() throws InterruptedException {
                warmUp = bootstrap.clone().channel(transport.serverSocketChannel())
                        .bind("127.0.0.1", 0).sync().channel();
                return (InetSocketAddress) warmUp.localAddress();
            }

            @Override
            public void close() throws InterruptedException {
                warmUp.close().sync();
            }
        });
    }

    /** The server's TLS with the sample's keystore, offering h2 and http/1.1 through ALPN. */
    private static SslContext serverTls(Tls tls) throws GeneralSecurityException, IOException {
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(tls.load(), tls.password().toCharArray());
        return SslContextBuilder.forServer(keys)
                .sslProvider(SslProvider.JDK)
                .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1))
                .build();
    }

    /** The plain HTTP/1.1 pipeline, also the one for clients that choose http/1.1 (or nothing) through ALPN. */
    private static void http11(ChannelPipeline pipeline, NettyServerStarter starter, String generation) {
        pipeline.addLast(new HttpServerCodec(), starter.httpDrainHandler(), new HttpObjectAggregator(64 * 1024),
                new Routes(generation));
    }

    /**
     * Sets up the protocol ALPN chose once the handshake is done. HTTP/2 gets Netty's frame codec and a child channel
     * per stream, which speaks to the same {@link Routes} through HTTP/1.1 objects; the drain finds the codec and
     * ends the connection with GOAWAY, as it ends an HTTP/1.1 one through {@code httpDrainHandler()}.
     */
    private static final class AlpnChoice extends ApplicationProtocolNegotiationHandler {
        private final NettyServerStarter starter;
        private final String generation;

        AlpnChoice(NettyServerStarter starter, String generation) {
            super(ApplicationProtocolNames.HTTP_1_1);
            this.starter = starter;
            this.generation = generation;
        }

        @Override
        protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            if (protocol.equals(ApplicationProtocolNames.HTTP_2)) {
                ctx.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(),
                        new Http2MultiplexHandler(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel stream) {
                                stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true),
                                        new HttpObjectAggregator(64 * 1024), new Routes(generation));
                            }
                        }));
            } else {
                http11(ctx.pipeline(), starter, generation);
            }
        }
    }

    /** {@code GET /} and {@code GET /sleep?ms=N}; both carry {@code X-Generation}. */
    private static final class Routes extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final String generation;

        Routes(String generation) {
            this.generation = generation;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            QueryStringDecoder uri = new QueryStringDecoder(request.uri());
            if (!request.method().equals(HttpMethod.GET)) {
                respond(ctx, keepAlive, HttpResponseStatus.METHOD_NOT_ALLOWED, "only GET\n");
            } else if (uri.path().equals("/")) {
                respond(ctx, keepAlive, HttpResponseStatus.OK, "hello from netty, generation " + generation + "\n");
            } else if (uri.path().equals("/sleep")) {
                List<String> ms = uri.parameters().get("ms");
                long millis;
                try {
                    millis = SleepParameter.millis(ms == null ? null : ms.get(0));
                } catch (IllegalArgumentException e) {
                    respond(ctx, keepAlive, HttpResponseStatus.BAD_REQUEST, e.getMessage() + "\n");
                    return;
                }
                // Scheduled, not slept: the event loop keeps serving other connections meanwhile.
                ctx.executor().schedule(() -> respond(ctx, keepAlive, HttpResponseStatus.OK,
                        "slept " + millis + " ms, generation " + generation + "\n"), millis, TimeUnit.MILLISECONDS);
            } else {
                respond(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, "not found\n");
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // A client resetting its connection is routine for a server (wrk does it at the end of every run);
            // anything else is worth a line in the log.
            if (!(cause instanceof IOException)) {
                System.err.println(NAME + ": closing a connection after " + cause);
            }
            ctx.close();
        }

        private void respond(ChannelHandlerContext ctx, boolean keepAlive, HttpResponseStatus status, String body) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
            response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
            response.headers().set("X-Generation", generation);
            HttpUtil.setKeepAlive(response, keepAlive);
            if (keepAlive) {
                ctx.writeAndFlush(response);
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}

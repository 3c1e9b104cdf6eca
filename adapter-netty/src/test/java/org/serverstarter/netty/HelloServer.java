package org.serverstarter.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.serverstarter.testkit.ContractApp;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.StarterException;

/**
 * The worker the integration tests run: an HTTP server on {@link NettyServerStarter}, set up the way the README tells
 * apps to, speaking {@link ContractApp}'s protocol for the adapter contract. {@code GET /hold} is answered once
 * draining has begun, checked on the event loop without blocking it.
 *
 * <p>Arguments: the transport ({@code EPOLL} or {@code NIO}).
 */
public final class HelloServer {
    private HelloServer() {}

    public static void main(String[] args) throws InterruptedException {
        NettyServerStarter.Transport transport = NettyServerStarter.Transport.valueOf(args[0]);
        String identity = ContractApp.identity();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, transport.ioHandlerFactory());
        try {
            NettyServerStarter listener = NettyServerStarter.fromEnvironment();
            ServerBootstrap bootstrap = bootstrap(group, listener, identity);
            if (listener.isPresent()) {
                if (ContractApp.defersReady()) {
                    Readiness.deferReady();
                }
                // Printing the channels looks up their local addresses, as an app logging its listeners would.
                List<Channel> channels = listener.register(bootstrap);
                listener.drainOnShutdown(ContractApp.drainTimeout());
                System.out.println("HelloServer serving " + transport + " " + identity + " on " + channels);
                if (ContractApp.defersReady()) {
                    ContractApp.awaitReadyFile();
                    Readiness.notifyReady();
                }
            } else {
                bootstrap.channel(transport.serverSocketChannel()).bind("127.0.0.1", ContractApp.ownPort()).sync();
                Readiness.notifyReady();
            }
        } catch (StarterException e) {
            System.err.println("HelloServer: " + e.getMessage());
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await();
            System.exit(1);
        }
    }

    /** The app's bootstrap, as the README shows it; {@code identity} goes into every answer. */
    static ServerBootstrap bootstrap(EventLoopGroup group, NettyServerStarter listener, String identity) {
        return new ServerBootstrap().group(group).childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new HttpServerCodec(), listener.httpDrainHandler(),
                        new HttpObjectAggregator(8192), new Responder(listener, identity));
            }
        });
    }

    private static final class Responder extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final NettyServerStarter listener;
        private final String identity;

        Responder(NettyServerStarter listener, String identity) {
            this.listener = listener;
            this.identity = identity;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            if (request.uri().equals(ContractApp.HOLD)) {
                ContractApp.holdStarted();
                answerOnceDraining(ctx, System.nanoTime() + TimeUnit.SECONDS.toNanos(20));
            } else {
                respond(ctx, HttpResponseStatus.OK, identity);
            }
        }

        // Checked on the event loop rather than blocking it: other connections keep being served meanwhile.
        private void answerOnceDraining(ChannelHandlerContext ctx, long giveUpAt) {
            if (listener.isDraining()) {
                respond(ctx, HttpResponseStatus.OK, identity);
            } else if (System.nanoTime() - giveUpAt > 0) {
                respond(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, "drain never began " + identity);
            } else {
                ctx.executor().schedule(() -> answerOnceDraining(ctx, giveUpAt), 20, TimeUnit.MILLISECONDS);
            }
        }

        private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(body + "\n", StandardCharsets.UTF_8));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
            response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
            ctx.writeAndFlush(response);
        }
    }
}

package org.serverstarter.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.serverstarter.testkit.Http2Frames;
import org.serverstarter.testkit.Ports;

/**
 * Pins the grpc-netty behaviour that {@link GrpcServerStarter} relies on, so that an upgrade that changes it fails here,
 * by name, rather than in production: {@code NettyServer.start} makes one server channel per listen address through
 * the builder's channel factory, in the order of the addresses, and binds each to its own address through the
 * channel's pipeline; and {@link Server#shutdown()} drains each HTTP/2 connection with two {@code GOAWAY}s around a
 * {@code PING}, letting the open calls finish before it closes the connection.
 */
class GrpcNettyInternalsTest {
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(20);
    /** grpc-netty's {@code NettyServerHandler.GRACEFUL_SHUTDOWN_PING}. */
    private static final long GRACEFUL_SHUTDOWN_PING = 0x97ACEF001L;

    @Test
    @Timeout(60)
    void startMakesOneChannelPerListenAddressInOrderAndBindsItToThatAddress() throws Exception {
        List<SocketAddress> addresses = List.of(new InetSocketAddress("127.0.0.1", Ports.freeTcpPort()),
                new InetSocketAddress("127.0.0.1", Ports.freeTcpPort()));
        List<String> binds = new CopyOnWriteArrayList<>();
        List<ServerChannel> made = new CopyOnWriteArrayList<>();
        ChannelFactory<ServerChannel> recording = () -> {
            int index = made.size();
            ServerChannel channel = new NioServerSocketChannel();
            made.add(channel);
            // As GrpcServerStarter's AdoptedBind: a handler in place before grpc-netty's bootstrap sees the channel.
            channel.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
                @Override
                public void bind(ChannelHandlerContext ctx, SocketAddress address, ChannelPromise promise) {
                    binds.add("channel " + index + " to " + address);
                    ctx.bind(address, promise);
                }
            });
            return channel;
        };
        EventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        Server server = NettyServerBuilder.forAddress(addresses.get(0)).addListenAddress(addresses.get(1))
                .channelFactory(recording).bossEventLoopGroup(loops).workerEventLoopGroup(loops)
                .addService(new HoldService().definition()).build().start();
        try {
            assertEquals(List.of("channel 0 to " + addresses.get(0), "channel 1 to " + addresses.get(1)), binds,
                    "grpc-netty no longer makes and binds one channel per listen address, in their order, through "
                            + "the builder's channel factory");
            // In no particular order: grpc-netty keeps its channels in a ChannelGroup, a set.
            assertEquals(Set.copyOf(addresses), Set.copyOf(server.getListenSockets()),
                    "grpc-netty does not serve on the channels it made");
        } finally {
            server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    @Timeout(60)
    void shutdownSendsGoAwayPingThenTheLastStreamsGoAwayAndLetsTheOpenCallFinish() throws Exception {
        HoldService service = new HoldService();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(service.definition()).build().start();
        List<String> seen = new ArrayList<>();
        try (Http2Frames client = Http2Frames.connect((InetSocketAddress) server.getListenSockets().get(0), READ_TIMEOUT)) {
            client.request(1, "POST", "/" + HoldService.HOLD.getFullMethodName(), grpcMessage("one"),
                    "content-type", "application/grpc", "te", "trailers");
            Http2Frames.Frame frame;
            do {
                frame = next(client, seen);
            } while (frame.type() != Http2Frames.DATA);
            assertTrue(service.isHolding(), "the call is running");

            server.shutdown();
            Http2Frames.Frame firstGoAway = nextOfType(client, seen, Http2Frames.GOAWAY, Http2Frames.PING);
            assertEquals(Http2Frames.GOAWAY, firstGoAway.type(), "the first frame of the shutdown: " + seen);
            assertEquals(Integer.MAX_VALUE, firstGoAway.lastStreamId(), "the first GOAWAY's last stream id");
            assertEquals(0, firstGoAway.errorCode(), "GOAWAY with NO_ERROR");
            Http2Frames.Frame ping = nextOfType(client, seen, Http2Frames.GOAWAY, Http2Frames.PING);
            assertEquals(Http2Frames.PING, ping.type(), "a PING follows the first GOAWAY: " + seen);
            assertEquals(GRACEFUL_SHUTDOWN_PING, ping.pingData(), "the shutdown's PING: " + seen);

            client.pingAck(ping.pingData());
            Http2Frames.Frame secondGoAway = nextOfType(client, seen, Http2Frames.GOAWAY, Http2Frames.GOAWAY);
            assertEquals(1, secondGoAway.lastStreamId(), "the second GOAWAY names the last stream taken");

            service.release();
            boolean ended = false;
            while ((frame = client.read()) != null) {
                seen.add(describe(frame));
                ended |= frame.type() == Http2Frames.HEADERS && frame.stream() == 1 && frame.has(Http2Frames.END_STREAM);
            }
            assertTrue(ended, "the open call ends with its trailers before the connection closes: " + seen);
        }
        assertTrue(server.awaitTermination(10, TimeUnit.SECONDS), "the server terminated once its call ended");
    }

    /** {@code text} as gRPC's one length-prefixed, uncompressed message. */
    private static byte[] grpcMessage(String text) {
        byte[] message = text.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length).put(message).array();
    }

    /** The next frame but PING acks and grpc's flow-control PINGs (which this client acknowledges). */
    private static Http2Frames.Frame next(Http2Frames client, List<String> seen) throws IOException {
        while (true) {
            Http2Frames.Frame frame = client.read();
            assertNotNull(frame, "the server closed the connection early: " + seen);
            seen.add(describe(frame));
            boolean ping = frame.type() == Http2Frames.PING && !frame.has(Http2Frames.ACK);
            if (ping && frame.pingData() != GRACEFUL_SHUTDOWN_PING) {
                client.pingAck(frame.pingData());
            } else if (ping || frame.type() != Http2Frames.PING) {
                return frame;
            }
        }
    }

    /** The next frame of type {@code a} or {@code b}, skipping others (window updates, the stream's own frames). */
    private static Http2Frames.Frame nextOfType(Http2Frames client, List<String> seen, int a, int b) throws IOException {
        while (true) {
            Http2Frames.Frame frame = next(client, seen);
            if (frame.type() == a || frame.type() == b) {
                return frame;
            }
        }
    }

    private static String describe(Http2Frames.Frame frame) {
        return switch (frame.type()) {
            case Http2Frames.GOAWAY -> "GOAWAY last=" + frame.lastStreamId() + " error=" + frame.errorCode();
            case Http2Frames.PING -> "PING " + Long.toHexString(frame.pingData()) + (frame.has(Http2Frames.ACK) ? " ack" : "");
            default -> "type " + frame.type() + " stream " + frame.stream() + " flags " + frame.flags();
        };
    }
}

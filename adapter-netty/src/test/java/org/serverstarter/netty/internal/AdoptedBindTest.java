package org.serverstarter.netty.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.ServerStarter;

/** {@link AdoptedBind} on an active channel: the socket's own address is answered, any other one refused. */
class AdoptedBindTest {
    private static final InheritedSocket SOCKET =
            ServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", "127.0.0.1:8080=3")).sockets().get(0);
    private static final InetSocketAddress OWN = SOCKET.tcpAddress().orElseThrow();
    private static final String GRPC_ORDER = "this grpc-netty no longer makes its server channels in the order of its "
            + "listen addresses";

    @Test
    void theSocketsOwnAddressIsAnsweredWithoutABind() {
        List<SocketAddress> forwarded = new ArrayList<>();
        EmbeddedChannel channel = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void bind(ChannelHandlerContext ctx, SocketAddress address, ChannelPromise promise) {
                forwarded.add(address);
                ctx.bind(address, promise);
            }
        }, new AdoptedBind(SOCKET, OWN, "grpc-netty", GRPC_ORDER));
        ChannelFuture bind = channel.bind(new InetSocketAddress("127.0.0.1", 8080));
        assertTrue(bind.isSuccess(), String.valueOf(bind.cause()));
        assertEquals(List.of(), forwarded, "the bind went on towards bind(2)");
        assertNull(channel.pipeline().get(AdoptedBind.class), "the handler stays after its one bind");
    }

    @Test
    void anotherAddressFailsTheBindNamingTheSocket() {
        EmbeddedChannel channel = new EmbeddedChannel(new AdoptedBind(SOCKET, OWN, "grpc-netty", GRPC_ORDER));
        ChannelFuture bind = channel.bind(new InetSocketAddress("127.0.0.1", 9090));
        assertEquals("grpc-netty bound the channel of 127.0.0.1:8080=3 to /127.0.0.1:9090: this grpc-netty no longer "
                + "makes its server channels in the order of its listen addresses", bind.cause().getMessage());
    }
}

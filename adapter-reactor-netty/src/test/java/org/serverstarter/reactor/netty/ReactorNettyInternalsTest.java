package org.serverstarter.reactor.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.ServerDomainSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.LoopResources;

/**
 * Pins the Reactor Netty behaviour that {@link ReactorNettyServerStarter} relies on, so that an upgrade that changes
 * it fails here, by name, rather than in production: every bind makes its server channel through
 * {@link LoopResources#onChannel} exactly once, with the channel type its bind address calls for, and serves on that
 * very channel; and a bind that bypassed it, to the inherited socket's own address, fails instead of serving.
 * Parameterised cases run on epoll ({@code true}) and on NIO.
 */
class ReactorNettyInternalsTest {
    @TempDir
    Path dir;

    private final LoopResources loops = LoopResources.create("internals", 1, 1, true);

    @AfterEach
    void stop() {
        loops.disposeLater(Duration.ZERO, Duration.ofSeconds(5)).block();
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aTcpBindMakesItsServerChannelThroughOnChannelOnceAndServesOnIt(boolean preferNative) {
        assertOneServerChannelFromOnChannel(preferNative, new InetSocketAddress("127.0.0.1", 0),
                ServerSocketChannel.class);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aUnixBindMakesItsServerChannelThroughOnChannelOnceAndServesOnIt(boolean preferNative) {
        String path = dir.resolve("internals.sock").toString();
        // On NIO Reactor Netty takes the JDK's unix address type, on epoll Netty's.
        assertOneServerChannelFromOnChannel(preferNative,
                preferNative ? new DomainSocketAddress(path) : UnixDomainSocketAddress.of(path),
                ServerDomainSocketChannel.class);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aBindThatBypassesOnChannelFailsOnTheInheritedAddress(boolean preferNative) throws IOException {
        try (java.nio.channels.ServerSocketChannel inherited = java.nio.channels.ServerSocketChannel.open()) {
            inherited.bind(new InetSocketAddress("127.0.0.1", 0));
            SocketAddress address = inherited.getLocalAddress();
            HttpServer bypassing = HttpServer.create().runOn(loops, preferNative).bindAddress(() -> address)
                    .handle((request, response) -> response.send());
            Exception e = assertThrows(Exception.class, bypassing::bindNow);
            Throwable cause = e;
            while (cause.getCause() != null && !String.valueOf(cause.getMessage()).contains("in use")) {
                cause = cause.getCause();
            }
            assertTrue(String.valueOf(cause.getMessage()).contains("Address already in use"), String.valueOf(e));
        }
    }

    private void assertOneServerChannelFromOnChannel(boolean preferNative, SocketAddress address,
            Class<?> expectedType) {
        List<Class<?>> askedFor = new CopyOnWriteArrayList<>();
        List<Channel> made = new CopyOnWriteArrayList<>();
        LoopResources recording = new LoopResources() {
            @Override
            public <C extends Channel> C onChannel(Class<C> type, EventLoopGroup group) {
                C channel = loops.onChannel(type, group);
                if (channel instanceof ServerChannel) {
                    askedFor.add(type);
                    made.add(channel);
                }
                return channel;
            }

            @Override
            public <C extends Channel> Class<? extends C> onChannelClass(Class<C> type, EventLoopGroup group) {
                return loops.onChannelClass(type, group);
            }

            @Override
            public EventLoopGroup onServer(boolean useNative) {
                return loops.onServer(useNative);
            }

            @Override
            public EventLoopGroup onServerSelect(boolean useNative) {
                return loops.onServerSelect(useNative);
            }
        };
        DisposableServer server = HttpServer.create().runOn(recording, preferNative).bindAddress(() -> address)
                .handle((request, response) -> response.sendString(Mono.just("x"))).bindNow();
        try {
            assertEquals(List.of(expectedType), askedFor,
                    "Reactor Netty no longer makes a bind's server channel through LoopResources.onChannel, once");
            assertSame(made.get(0), server.channel(), "the bound server is not on the channel onChannel returned");
        } finally {
            server.disposeNow(Duration.ofSeconds(5));
        }
    }
}

package org.serverstarter.spring.boot;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.springframework.boot.reactor.netty.NettyWebServer;
import org.springframework.boot.web.server.WebServer;
import reactor.netty.DisposableServer;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.server.HttpServer;

/**
 * The warm-up's listener on Reactor Netty: the server that serves the inherited sockets, with the same handler,
 * routes and event loops, bound once more to an ephemeral loopback port.
 */
final class ReactorNettyWarmUpPort implements WebServerWarmUpPort {
    private final ReactorNettyOnInheritedSockets sockets;
    private DisposableServer bound;

    ReactorNettyWarmUpPort(ReactorNettyOnInheritedSockets sockets) {
        this.sockets = sockets;
    }

    @Override
    public boolean serves(WebServer server) {
        return server instanceof NettyWebServer;
    }

    @Override
    public InetSocketAddress open() {
        HttpServer serving = sockets.serving();
        if (serving == null) {
            throw new IllegalStateException("Reactor Netty's server has not started");
        }
        // The warm-up client speaks plain HTTP/1.1 over loopback; the app's TLS and HTTP/2 stay on the inherited sockets.
        bound = serving.noSSL().protocol(HttpProtocol.HTTP11)
                .bindAddress(() -> new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).bindNow();
        return (InetSocketAddress) bound.address();
    }

    @Override
    public void close() {
        bound.disposeNow();
    }
}

package org.serverstarter.spring.boot;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.reactor.netty.ReactorNettyServerStarter;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.reactor.netty.NettyReactiveWebServerFactory;
import org.springframework.boot.reactor.netty.NettyRouteProvider;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.server.reactive.context.ReactiveWebServerInitializedEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.core.Ordered;
import org.springframework.http.client.ReactorResourceFactory;
import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ReactorHttpHandlerAdapter;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRoutes;
import reactor.netty.resources.LoopResources;

/**
 * Makes the {@code HttpServer} Boot binds serve the first inherited socket, and serves the other entries with the
 * same server, handler and routes once Boot's has started (and gives that server to the warm-up's listener).
 * Boot has applied {@code server.ssl.*} and {@code server.http2.enabled} to the server before the customizers see
 * it, so every socket serves them.
 *
 * <p>Boot would call {@code runOn(its loops)} after the server customizers, which would replace the loop resources
 * that {@code adopt} set up; so the factory's resource factory is cleared and the customizer puts the server on those
 * same loops itself, before adopting. Applied last, so that every other customizer's settings come with it.
 */
final class ReactorNettyOnInheritedSockets implements WebServerFactoryCustomizer<NettyReactiveWebServerFactory>,
        ApplicationListener<ReactiveWebServerInitializedEvent>, Ordered {
    private final ReactorNettyServerStarter starter;
    private final ObjectProvider<ReactorResourceFactory> resources;
    private final ObjectProvider<NettyRouteProvider> routes;
    private final AtomicBoolean served = new AtomicBoolean();
    /** Boot's server as every customizer left it, on its event loops, without a handler yet. */
    private volatile HttpServer configured;
    private volatile HttpServer serving;

    ReactorNettyOnInheritedSockets(ReactorNettyServerStarter starter, ObjectProvider<ReactorResourceFactory> resources,
            ObjectProvider<NettyRouteProvider> routes) {
        this.starter = starter;
        this.resources = resources;
        this.routes = routes;
    }

    @Override
    public void customize(NettyReactiveWebServerFactory factory) {
        // Boot binds before the context is refreshed; READY=1 waits for ACCEPTING_TRAFFIC instead.
        Readiness.deferReady();
        ReactorResourceFactory shared = resources.getIfAvailable();
        LoopResources loops = shared == null ? null : shared.getLoopResources();
        factory.setResourceFactory(null);
        InheritedSocket first = starter.sockets().get(0);
        factory.addServerCustomizers(server -> {
            HttpServer onLoops = loops == null ? server : server.runOn(loops);
            configured = onLoops;
            return starter.adopt(onLoops, first);
        });
    }

    @Override
    public void onApplicationEvent(ReactiveWebServerInitializedEvent event) {
        HttpServer server = configured;
        if (server == null || !served.compareAndSet(false, true)) {
            return;
        }
        ReactorHttpHandlerAdapter handler =
                new ReactorHttpHandlerAdapter(event.getApplicationContext().getBean(HttpHandler.class));
        List<NettyRouteProvider> providers = routes.orderedStream().toList();
        // As Boot's NettyWebServer serves its own socket: the route providers first, then the app.
        serving = providers.isEmpty() ? server.handle(handler) : server.route(all -> {
            HttpServerRoutes chain = all;
            for (NettyRouteProvider provider : providers) {
                chain = provider.apply(chain);
            }
            chain.route(request -> true, handler);
        });
        List<InheritedSocket> rest = starter.sockets().subList(1, starter.sockets().size());
        if (!rest.isEmpty()) {
            starter.bind(serving, rest);
        }
    }

    /**
     * Boot's server as it serves the inherited sockets, with the app's handler and routes, not bound; null until
     * Boot's server has started.
     */
    HttpServer serving() {
        return serving;
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}

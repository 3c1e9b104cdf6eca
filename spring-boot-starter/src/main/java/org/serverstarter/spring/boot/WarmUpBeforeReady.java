package org.serverstarter.spring.boot;

import java.net.InetSocketAddress;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.serverstarter.adapters.internal.WarmUpClient;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.web.server.WebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationListener;
import org.springframework.core.Ordered;

/**
 * {@code server-starter.warm-up}: the app's requests to itself, on a private loopback listener of its own server,
 * once its runners have run and before Boot declares it ready for traffic, which is when {@code READY=1} goes out
 * ({@link ReadyWhenAcceptingTraffic}). Boot publishes the ready event and then that readiness state in one call, so
 * a failure here (thrown, and reported by {@link WarmUpFailureAnalyzer}) stops the app before either is announced:
 * {@code start_server} keeps the old generation serving and starts another.
 *
 * <p>Last among the listeners of the ready event: what the app itself does on that event is part of its start too,
 * and comes first.
 */
final class WarmUpBeforeReady implements ApplicationListener<ApplicationReadyEvent>, Ordered {
    private static final Log LOG = LogFactory.getLog(WarmUpBeforeReady.class);

    private final WarmUpClient client;
    private final int requests;
    private final ObjectProvider<WebServerWarmUpPort> ports;

    WarmUpBeforeReady(ServerStarterProperties.WarmUp settings, ObjectProvider<WebServerWarmUpPort> ports) {
        String prefix = "server-starter.warm-up.";
        if (settings.getRequests() < 0) {
            throw new InvalidConfigurationPropertyValueException(prefix + "requests", settings.getRequests(),
                    "0 (no warm-up) or more requests");
        }
        if (settings.getRequestsPerConnection() < 1) {
            throw new InvalidConfigurationPropertyValueException(prefix + "requests-per-connection",
                    settings.getRequestsPerConnection(), "1 or more requests on each connection");
        }
        try {
            this.client = new WarmUpClient(settings.getPath(), settings.getRequests(),
                    settings.getRequestsPerConnection());
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigurationPropertyValueException(prefix + "path", settings.getPath(),
                    "a path from / with no space or control character");
        }
        this.requests = settings.getRequests();
        this.ports = ports;
    }

    @Override
    public void onApplicationEvent(ApplicationReadyEvent event) {
        if (requests == 0) {
            return;
        }
        WebServer server = event.getApplicationContext() instanceof WebServerApplicationContext web
                ? web.getWebServer() : null;
        WarmUpClient.Port listener = server == null ? null
                : ports.orderedStream().filter(port -> port.serves(server)).findFirst().orElse(null);
        if (listener == null) {
            throw new WarmUpClient.Failure("warm-up: the app has no Tomcat, Jetty or Reactor Netty server to warm up");
        }
        long start = System.nanoTime();
        InetSocketAddress address = client.warmUp(listener);
        LOG.info("Warmed up: " + requests + " requests on a loopback listener at " + address.getAddress()
                .getHostAddress() + ":" + address.getPort() + ", now closed, in "
                + (System.nanoTime() - start) / 1_000_000 + " ms");
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}

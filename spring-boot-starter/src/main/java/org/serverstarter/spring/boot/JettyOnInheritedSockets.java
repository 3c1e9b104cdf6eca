package org.serverstarter.spring.boot;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.jetty.JettyServerStarter;
import org.springframework.boot.jetty.JettyServerCustomizer;

/**
 * Replaces the connector Boot made for {@code server.port} with one per inherited socket, with the connection
 * factories Boot made for it: its HTTP configuration (forwarded headers, header sizes, server header), TLS
 * ({@code server.ssl.*}) and HTTP/2 ({@code server.http2.enabled}), so the app's settings still apply.
 *
 * <p>The inherited connectors share those factories: Boot's connector is out of the server before anything starts,
 * and a factory of several connectors is started by the first that starts and stopped by the first that stops, which
 * happens after the drain. A factory only makes connections; what a connection holds is its own.
 */
final class JettyOnInheritedSockets implements JettyServerCustomizer {
    private final JettyServerStarter starter;

    JettyOnInheritedSockets(JettyServerStarter starter) {
        this.starter = starter;
    }

    @Override
    public void customize(Server server) {
        // Boot starts Jetty before the context is refreshed; READY=1 waits for ACCEPTING_TRAFFIC instead.
        Readiness.deferReady();
        List<ConnectionFactory> boots = null;
        for (Connector connector : server.getConnectors()) {
            Collection<ConnectionFactory> factories = connector.getConnectionFactories();
            if (boots == null && factories.stream().anyMatch(HttpConnectionFactory.class::isInstance)) {
                boots = new ArrayList<>(factories);
            }
            server.removeConnector(connector);
        }
        List<ConnectionFactory> chain = boots == null ? List.of(new HttpConnectionFactory(new HttpConfiguration()))
                : List.copyOf(boots);
        starter.listen(server, socket -> chain);
    }
}

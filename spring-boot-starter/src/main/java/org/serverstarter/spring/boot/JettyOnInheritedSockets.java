package org.serverstarter.spring.boot;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.StarterException;
import org.serverstarter.jetty.JettyServerStarter;
import org.springframework.boot.jetty.JettyServerCustomizer;

/**
 * Replaces the connector Boot made for {@code server.port} with one per inherited socket, keeping Boot's HTTP
 * configuration (forwarded headers, header sizes, server header), so the app's settings still apply.
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
        HttpConfiguration configuration = null;
        for (Connector connector : server.getConnectors()) {
            if (connector.getConnectionFactory(SslConnectionFactory.class) != null) {
                throw new StarterException("server-starter: server.ssl is not supported on inherited sockets yet; "
                        + "terminate TLS in front of the app");
            }
            HttpConnectionFactory http = connector.getConnectionFactory(HttpConnectionFactory.class);
            if (configuration == null && http != null) {
                configuration = http.getHttpConfiguration();
            }
            server.removeConnector(connector);
        }
        starter.listen(server, configuration == null ? new HttpConfiguration() : configuration);
    }
}

package org.serverstarter.spring.boot;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.springframework.boot.jetty.JettyWebServer;
import org.springframework.boot.web.server.WebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContext;

/**
 * The warm-up's listener on Jetty: one more connector of the app's server, on an ephemeral loopback port, with the
 * HTTP configuration of the inherited ones and the server's thread pool, which then serves the app's first clients
 * warm.
 */
final class JettyWarmUpPort implements WebServerWarmUpPort {
    private static final long SHUTDOWN_SECONDS = 10;

    private final ApplicationContext context;
    private Server server;
    private ServerConnector connector;

    JettyWarmUpPort(ApplicationContext context) {
        this.context = context;
    }

    @Override
    public boolean serves(WebServer server) {
        return server instanceof JettyWebServer;
    }

    @Override
    public InetSocketAddress open() throws Exception {
        server = ((JettyWebServer) ((WebServerApplicationContext) context).getWebServer()).getServer();
        HttpConfiguration configuration = new HttpConfiguration();
        for (Connector inherited : server.getConnectors()) {
            HttpConnectionFactory http = inherited.getConnectionFactory(HttpConnectionFactory.class);
            if (http != null) {
                configuration = http.getHttpConfiguration();
                break;
            }
        }
        // A factory of its own: a connector stops the factories it holds, and the inherited ones' must keep running.
        connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(configuration));
        String loopback = InetAddress.getLoopbackAddress().getHostAddress();
        connector.setHost(loopback);
        connector.setPort(0);
        server.addConnector(connector);
        connector.start();
        return new InetSocketAddress(loopback, connector.getLocalPort());
    }

    @Override
    public void close() throws Exception {
        // The warm-up's client has closed its connections, but Jetty may still be completing their last exchanges;
        // stopped under one, the connector can leave it unfinished for the drain handler, whose drain then waits
        // its whole timeout for that response. A graceful shutdown first lets them finish.
        connector.shutdown().get(SHUTDOWN_SECONDS, TimeUnit.SECONDS);
        connector.stop();
        server.removeConnector(connector);
    }
}

package org.serverstarter.spring.boot;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.Service;
import org.apache.catalina.connector.Connector;
import org.springframework.boot.tomcat.TomcatWebServer;
import org.springframework.boot.web.server.WebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContext;

/**
 * The warm-up's listener on Tomcat: one more connector in the app's service, on an ephemeral loopback port,
 * configured as Boot configured the connector it made for {@code server.port}, as the inherited ones are, but without
 * TLS: the warm-up client speaks plain HTTP/1.1 over loopback.
 */
final class TomcatWarmUpPort implements WebServerWarmUpPort {
    private final ApplicationContext context;
    private final TomcatOnInheritedSockets sockets;
    private Service service;
    private Connector connector;

    TomcatWarmUpPort(ApplicationContext context, TomcatOnInheritedSockets sockets) {
        this.context = context;
        this.sockets = sockets;
    }

    @Override
    public boolean serves(WebServer server) {
        return server instanceof TomcatWebServer;
    }

    @Override
    public InetSocketAddress open() {
        Connector boots = sockets.bootsConnector();
        if (boots == null) {
            throw new IllegalStateException("Boot made no Tomcat connector");
        }
        service = ((TomcatWebServer) ((WebServerApplicationContext) context).getWebServer()).getTomcat().getService();
        connector = new Connector(boots.getProtocolHandlerClassName());
        TomcatOnInheritedSockets.copyConfiguration(boots, connector);
        String loopback = InetAddress.getLoopbackAddress().getHostAddress();
        connector.setProperty("address", loopback);
        connector.setPort(0);
        connector.setThrowOnFailure(true);
        service.addConnector(connector); // the service runs: this starts it
        return new InetSocketAddress(loopback, connector.getLocalPort());
    }

    @Override
    public void close() throws LifecycleException {
        service.removeConnector(connector);
        connector.destroy();
    }
}

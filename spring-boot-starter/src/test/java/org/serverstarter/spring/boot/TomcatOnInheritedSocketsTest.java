package org.serverstarter.spring.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.catalina.connector.Connector;
import org.apache.coyote.http11.AbstractHttp11Protocol;
import org.apache.coyote.http2.Http2Protocol;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.junit.jupiter.api.Test;

/** The inherited sockets' connectors get what Boot configured on the connector they replace, and nothing else. */
class TomcatOnInheritedSocketsTest {
    @Test
    void bootsSettingsCarryOverButNotItsSocket() {
        Connector boots = new Connector("HTTP/1.1");
        boots.setPort(8080);
        boots.setURIEncoding("ISO-8859-1");
        boots.setMaxPostSize(1234);
        Http2Protocol http2 = new Http2Protocol();
        http2.setMaxConcurrentStreams(42);
        http2.setReadTimeout(7654);
        boots.addUpgradeProtocol(http2);
        AbstractHttp11Protocol<?> protocol = (AbstractHttp11Protocol<?>) boots.getProtocolHandler();
        protocol.setMaxThreads(17);
        protocol.setKeepAliveTimeout(4321);
        protocol.setMaxHttpRequestHeaderSize(16384);
        protocol.setCompression("on");

        Connector inherited = new Connector("HTTP/1.1");
        inherited.setPort(39001);
        TomcatOnInheritedSockets.copyConfiguration(boots, inherited);

        AbstractHttp11Protocol<?> copied = (AbstractHttp11Protocol<?>) inherited.getProtocolHandler();
        assertEquals(17, copied.getMaxThreads());
        assertEquals(4321, copied.getKeepAliveTimeout());
        assertEquals(16384, copied.getMaxHttpRequestHeaderSize());
        assertEquals("on", copied.getCompression());
        assertEquals("ISO-8859-1", inherited.getURIEncoding());
        assertEquals(1234, inherited.getMaxPostSize());
        // Its own HTTP/2, with Boot's settings: a connector binds its upgrade protocols to itself when it starts.
        Http2Protocol copiedHttp2 = (Http2Protocol) inherited.findUpgradeProtocols()[0];
        assertEquals(1, inherited.findUpgradeProtocols().length);
        assertNotSame(http2, copiedHttp2);
        assertEquals(42, copiedHttp2.getMaxConcurrentStreams());
        assertEquals(7654, copiedHttp2.getReadTimeout());
        assertEquals(39001, inherited.getPort());
        assertEquals("http", inherited.getScheme());
    }

    /**
     * {@code server.ssl.*}: Boot's connector is TLS-enabled with host configurations; so are the inherited ones, and the
     * warm-up's connector (configuration without TLS) is not.
     */
    @Test
    void bootsTlsCarriesOver() {
        Connector boots = new Connector("HTTP/1.1");
        boots.setScheme("https");
        boots.setSecure(true);
        boots.setProperty("SSLEnabled", "true");
        SSLHostConfig tls = new SSLHostConfig();
        tls.setProtocols("TLSv1.3");
        boots.addSslHostConfig(tls);

        Connector warmUp = new Connector("HTTP/1.1");
        TomcatOnInheritedSockets.copyConfiguration(boots, warmUp);
        assertEquals("http", warmUp.getScheme());
        assertFalse(((AbstractHttp11Protocol<?>) warmUp.getProtocolHandler()).isSSLEnabled());
        assertEquals(0, warmUp.findSslHostConfigs().length);

        Connector inherited = new Connector("HTTP/1.1");
        TomcatOnInheritedSockets.copyConfiguration(boots, inherited);
        TomcatOnInheritedSockets.copyTls(boots, inherited);

        assertEquals("https", inherited.getScheme());
        assertTrue(inherited.getSecure());
        assertTrue(((AbstractHttp11Protocol<?>) inherited.getProtocolHandler()).isSSLEnabled());
        assertArrayEquals(new SSLHostConfig[] {tls}, inherited.findSslHostConfigs());
    }
}

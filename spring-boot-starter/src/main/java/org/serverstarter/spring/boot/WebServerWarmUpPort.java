package org.serverstarter.spring.boot;

import org.serverstarter.adapters.internal.WarmUpClient;
import org.springframework.boot.web.server.WebServer;

/**
 * The warm-up's listener on one kind of web server. The context holds one per server whose classes are on the class
 * path, which can be more than the one server the app runs (Tomcat left beside Jetty, or beside WebFlux).
 */
interface WebServerWarmUpPort extends WarmUpClient.Port {
    /** True when this port opens its listener on {@code server}. */
    boolean serves(WebServer server);
}

package org.serverstarter.spring.boot;

import org.serverstarter.adapters.internal.WarmUpClient;
import org.springframework.boot.web.server.WebServer;

/**
 * The warm-up's listener on one kind of web server. The context holds one per server whose classes are on the class
 * path, which can be more than the one server the app runs (Tomcat left beside Jetty, or beside WebFlux). Their beans
 * have no destroy method: the warm-up opens and closes its listener, and the {@code close()} Spring would infer and
 * call at shutdown finds nothing open when the warm-up is off.
 */
interface WebServerWarmUpPort extends WarmUpClient.Port {
    /** True when this port opens its listener on {@code server}. */
    boolean serves(WebServer server);
}

package org.serverstarter.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.jetty.JettyWebServer;
import org.springframework.boot.web.server.WebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.support.GenericApplicationContext;

/**
 * A warm-up setting that cannot make a request stops the app at start-up, named in Boot's failure report (which
 * {@link InvalidConfigurationPropertyValueException} gets, without a stack trace), not at the first request; and the
 * warm-up reaches the server the app runs when the class path holds more than one.
 */
class WarmUpBeforeReadyTest {
    /**
     * Tomcat and Jetty both on the class path (an app that added Jetty without excluding Tomcat, or WebFlux beside
     * Tomcat) give the context a warm-up port for each; the warm-up takes the one of the web server that runs, here a
     * real Jetty, which gets every request.
     */
    @Test
    void warmsUpTheServerThatRunsWhenTheClassPathHoldsTwo() throws Exception {
        AtomicInteger served = new AtomicInteger();
        Server jetty = new Server();
        jetty.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                served.incrementAndGet();
                response.write(true, StandardCharsets.UTF_8.encode("warm"), callback);
                return true;
            }
        });
        JettyWebServer webServer = new JettyWebServer(jetty, true);
        try (WebContext context = new WebContext(webServer)) {
            context.registerBean(JettyWarmUpPort.class, () -> new JettyWarmUpPort(context));
            context.registerBean(TomcatWarmUpPort.class, () -> new TomcatWarmUpPort(context, null));
            context.refresh();
            ServerStarterProperties.WarmUp settings = new ServerStarterProperties().getWarmUp();
            settings.setRequests(20);
            settings.setRequestsPerConnection(5);
            new WarmUpBeforeReady(settings, context.getBeanProvider(WebServerWarmUpPort.class)).onApplicationEvent(
                    new ApplicationReadyEvent(new SpringApplication(), new String[0], context, Duration.ZERO));
            assertEquals(20, served.get(), "requests the running Jetty served");
        } finally {
            webServer.destroy();
        }
    }

    /** A context with a web server, as Boot's are once refreshed. */
    private static final class WebContext extends GenericApplicationContext implements WebServerApplicationContext {
        private final WebServer webServer;

        WebContext(WebServer webServer) {
            this.webServer = webServer;
        }

        @Override
        public WebServer getWebServer() {
            return webServer;
        }

        @Override
        public String getServerNamespace() {
            return null;
        }
    }

    @Test
    void aSettingThatCannotMakeARequestIsReportedByName() {
        assertEquals("server-starter.warm-up.requests", refused(settings -> settings.setRequests(-1)));
        assertEquals("server-starter.warm-up.requests-per-connection",
                refused(settings -> settings.setRequestsPerConnection(0)));
        assertEquals("server-starter.warm-up.path", refused(settings -> settings.setPath("warm-up")));
        assertEquals("server-starter.warm-up.path", refused(settings -> settings.setPath("/a b")));
    }

    private interface Change {
        void apply(ServerStarterProperties.WarmUp settings);
    }

    private static String refused(Change change) {
        ServerStarterProperties.WarmUp settings = new ServerStarterProperties().getWarmUp();
        settings.setRequests(3000);
        change.apply(settings);
        return assertThrows(InvalidConfigurationPropertyValueException.class,
                () -> new WarmUpBeforeReady(settings, null)).getName();
    }
}

package org.serverstarter.spring.boot;

import java.time.Duration;
import org.eclipse.jetty.server.Server;
import org.apache.catalina.startup.Tomcat;
import org.serverstarter.jetty.JettyServerStarter;
import org.serverstarter.reactor.netty.ReactorNettyServerStarter;
import org.serverstarter.tomcat.TomcatServerStarter;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.jetty.ConfigurableJettyWebServerFactory;
import org.springframework.boot.reactor.netty.NettyReactiveWebServerFactory;
import org.springframework.boot.reactor.netty.NettyRouteProvider;
import org.springframework.boot.tomcat.ConfigurableTomcatWebServerFactory;
import org.springframework.boot.tomcat.TomcatWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.env.Environment;
import org.springframework.http.client.ReactorResourceFactory;
import reactor.netty.http.server.HttpServer;

/**
 * Under {@code start_server} ({@code SERVER_STARTER_PORT} set), the app's embedded server serves the inherited
 * sockets instead of {@code server.port}, warms up when asked to ({@code server-starter.warm-up}), tells the
 * superdaemon it is ready when Boot declares it ready for traffic, and drains when the context closes. Without a
 * superdaemon nothing here applies and Boot binds as usual.
 */
@AutoConfiguration
@Conditional(OnServerStarter.class)
@EnableConfigurationProperties(ServerStarterProperties.class)
public class ServerStarterAutoConfiguration {
    private static final Duration DEFAULT_SHUTDOWN_PHASE = Duration.ofSeconds(30);

    @Bean
    static ReadyWhenAcceptingTraffic serverStarterReadiness(ServerStarterProperties properties) {
        return new ReadyWhenAcceptingTraffic(properties.isDeferReady());
    }

    @Bean
    static WarmUpBeforeReady serverStarterWarmUp(ServerStarterProperties properties,
            ObjectProvider<WebServerWarmUpPort> ports) {
        return new WarmUpBeforeReady(properties.getWarmUp(), ports);
    }

    /** The drain's timeout: the setting, within the time Spring gives the shutdown phase it runs in. */
    static Duration drainTimeout(ServerStarterProperties properties, Environment environment) {
        Duration phase = environment.getProperty("spring.lifecycle.timeout-per-shutdown-phase", Duration.class,
                DEFAULT_SHUTDOWN_PHASE);
        Duration wanted = properties.getDrainTimeout();
        return wanted == null || wanted.compareTo(phase) > 0 ? phase : wanted;
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({Server.class, ConfigurableJettyWebServerFactory.class})
    static class Jetty {
        @Bean
        JettyServerStarter jettyServerStarter() {
            return JettyServerStarter.fromEnvironment();
        }

        @Bean
        WebServerFactoryCustomizer<ConfigurableJettyWebServerFactory> serverStarterJetty(JettyServerStarter starter) {
            return factory -> factory.addServerCustomizers(new JettyOnInheritedSockets(starter));
        }

        @Bean(destroyMethod = "")
        JettyWarmUpPort serverStarterJettyWarmUpPort(ApplicationContext context) {
            return new JettyWarmUpPort(context);
        }

        @Bean
        DrainBeforeGracefulShutdown serverStarterJettyDrain(JettyServerStarter starter,
                ServerStarterProperties properties, Environment environment) {
            return new DrainBeforeGracefulShutdown(starter::drain, drainTimeout(properties, environment),
                    properties.getDrainSpread());
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({Tomcat.class, ConfigurableTomcatWebServerFactory.class})
    static class TomcatServer {
        @Bean
        TomcatServerStarter tomcatServerStarter() {
            return TomcatServerStarter.fromEnvironment();
        }

        @Bean
        TomcatOnInheritedSockets serverStarterTomcatSockets(TomcatServerStarter starter) {
            return new TomcatOnInheritedSockets(starter);
        }

        @Bean
        WebServerFactoryCustomizer<ConfigurableTomcatWebServerFactory> serverStarterTomcat(
                TomcatOnInheritedSockets sockets) {
            return new LastCustomizer<>(factory -> {
                if (factory instanceof TomcatWebServerFactory tomcat && tomcat.getBaseDirectory() == null) {
                    tomcat.setBaseDirectory(TomcatBaseDirectory.create());
                }
                factory.addConnectorCustomizers(sockets::customizeConnector);
                factory.addContextCustomizers(sockets::customizeContext);
            });
        }

        @Bean(destroyMethod = "")
        TomcatWarmUpPort serverStarterTomcatWarmUpPort(ApplicationContext context, TomcatOnInheritedSockets sockets) {
            return new TomcatWarmUpPort(context, sockets);
        }

        @Bean
        DrainBeforeGracefulShutdown serverStarterTomcatDrain(TomcatServerStarter starter,
                ServerStarterProperties properties, Environment environment) {
            return new DrainBeforeGracefulShutdown(starter::drain, drainTimeout(properties, environment),
                    properties.getDrainSpread());
        }
    }

    /**
     * WebFlux on Reactor Netty. Only for a reactive app: a servlet app with Reactor Netty on its class path (for
     * {@code WebClient}) serves with its servlet container, and Reactor Netty's server is never made.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
    @ConditionalOnClass({HttpServer.class, NettyReactiveWebServerFactory.class})
    static class ReactorNetty {
        @Bean
        ReactorNettyServerStarter reactorNettyServerStarter() {
            return ReactorNettyServerStarter.fromEnvironment();
        }

        @Bean
        ReactorNettyOnInheritedSockets serverStarterReactorNetty(ReactorNettyServerStarter starter,
                ObjectProvider<ReactorResourceFactory> resources, ObjectProvider<NettyRouteProvider> routes) {
            return new ReactorNettyOnInheritedSockets(starter, resources, routes);
        }

        @Bean(destroyMethod = "")
        ReactorNettyWarmUpPort serverStarterReactorNettyWarmUpPort(ReactorNettyOnInheritedSockets sockets) {
            return new ReactorNettyWarmUpPort(sockets);
        }

        @Bean
        DrainBeforeGracefulShutdown serverStarterReactorNettyDrain(ReactorNettyServerStarter starter,
                ServerStarterProperties properties, Environment environment) {
            return new DrainBeforeGracefulShutdown(starter::drain, drainTimeout(properties, environment),
                    properties.getDrainSpread());
        }
    }

    /**
     * Applied after Boot's own customizers, so that the connector customizer it adds runs after theirs and sees the
     * connector as {@code server.tomcat.*} configured it.
     */
    static final class LastCustomizer<T extends org.springframework.boot.web.server.WebServerFactory>
            implements WebServerFactoryCustomizer<T>, Ordered {
        private final WebServerFactoryCustomizer<T> customizer;

        LastCustomizer(WebServerFactoryCustomizer<T> customizer) {
            this.customizer = customizer;
        }

        @Override
        public void customize(T factory) {
            customizer.customize(factory);
        }

        @Override
        public int getOrder() {
            return Ordered.LOWEST_PRECEDENCE;
        }
    }
}

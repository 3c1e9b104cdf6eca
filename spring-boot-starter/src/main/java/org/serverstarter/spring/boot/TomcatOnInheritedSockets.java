package org.serverstarter.spring.boot;

import java.beans.BeanInfo;
import java.beans.IntrospectionException;
import java.beans.Introspector;
import java.beans.PropertyDescriptor;
import java.lang.reflect.InvocationTargetException;
import java.util.Set;
import java.util.function.Predicate;
import org.apache.catalina.Context;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.Service;
import org.apache.catalina.connector.Connector;
import org.apache.coyote.AbstractProtocol;
import org.apache.coyote.UpgradeProtocol;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.tomcat.TomcatServerStarter;
import org.springframework.boot.tomcat.TomcatConnectorCustomizer;
import org.springframework.boot.tomcat.TomcatContextCustomizer;

/**
 * Puts one connector per inherited socket beside the one Boot made for {@code server.port}, configured as Boot
 * configured that one ({@code server.tomcat.*}, compression, {@code server.ssl.*}, HTTP/2), and takes Boot's out of
 * the service before Tomcat would bind it.
 *
 * <p>Boot gives no hook to drop its connector: {@code Tomcat.setConnector} puts it back into the service after the
 * connector customizers ran. So it is removed when the context starts: Boot's own listener for that event (added
 * later, so called later) then sets the remaining connectors aside to add them back, started, once the app is
 * ready, and Boot's connector never binds.
 *
 * <p>Its two customizers are given to Boot's factory after Boot's own ({@code LastCustomizer}); it is a bean, for the
 * warm-up's connector, but not of a customizer type, which Boot would apply before {@code server.tomcat.*}.
 */
final class TomcatOnInheritedSockets {
    /** What belongs to a connector's own socket, or to Tomcat's bookkeeping, not to its configuration. */
    private static final Set<String> NOT_COPIED = Set.of("address", "port", "portOffset", "localPort", "bindOnInit",
            "useInheritedChannel", "unixDomainSocketPath", "unixDomainSocketPathPermissions", "name", "domain",
            "protocol", "service", "state", "stateName", "throwOnFailure", "executor", "adapter", "handler",
            "proxyName", "proxyPort", "redirectPort");
    /** TLS ({@code server.ssl.*}), which the inherited connectors take and the warm-up's does not. */
    private static final Set<String> TLS = Set.of("SSLEnabled", "secure", "scheme", "sslImplementationName",
            "defaultSSLHostConfigName");

    private final TomcatServerStarter starter;
    private Connector boots;

    TomcatOnInheritedSockets(TomcatServerStarter starter) {
        this.starter = starter;
    }

    /** As a {@link TomcatConnectorCustomizer}: Boot's connector, configured. */
    void customizeConnector(Connector connector) {
        // Boot starts Tomcat before the context is refreshed; READY=1 waits for ACCEPTING_TRAFFIC instead.
        Readiness.deferReady();
        boots = connector;
        starter.listen(connector.getService(), inherited -> {
            copyConfiguration(connector, inherited);
            copyTls(connector, inherited);
        });
    }

    /** As a {@link TomcatContextCustomizer}. */
    void customizeContext(Context context) {
        context.addLifecycleListener(event -> {
            if (Lifecycle.START_EVENT.equals(event.getType()) && boots != null && boots.getService() != null) {
                Service service = boots.getService();
                service.removeConnector(boots);
            }
        });
    }

    /** The connector Boot made for {@code server.port}, as {@code server.tomcat.*} configured it; null before. */
    Connector bootsConnector() {
        return boots;
    }

    /**
     * Copies what {@code from} was configured with onto {@code to}, TLS aside: every simple property, then upgrade
     * protocols (HTTP/2 with {@code server.http2.enabled}), each a copy of its own: a connector tells its upgrade
     * protocols which HTTP/1.1 protocol they serve when it starts, so a shared one would take the last connector's
     * (HTTP/2 refusing {@code https} streams on a TLS connector once the plain warm-up connector started).
     */
    static void copyConfiguration(Connector from, Connector to) {
        Predicate<String> copied = name -> !NOT_COPIED.contains(name) && !TLS.contains(name);
        copyProperties(from, to, copied);
        copyProperties(from.getProtocolHandler(), to.getProtocolHandler(), copied);
        for (UpgradeProtocol upgrade : from.findUpgradeProtocols()) {
            to.addUpgradeProtocol(copyOf(upgrade));
        }
        if (from.getProtocolHandler() instanceof AbstractProtocol<?> protocol && protocol.getExecutor() != null) {
            // Boot's virtual-thread executor, say: shared with the connectors that replace the one it was made for.
            ((AbstractProtocol<?>) to.getProtocolHandler()).setExecutor(protocol.getExecutor());
        }
    }

    /**
     * Copies {@code from}'s TLS ({@code server.ssl.*}) onto {@code to}: TLS on or off, scheme and secure, and Boot's
     * TLS host configurations. Those are shared, not copied: Boot's connector never starts, and each inherited
     * connector makes its own TLS context from them when it starts.
     */
    static void copyTls(Connector from, Connector to) {
        copyProperties(from, to, TLS::contains);
        copyProperties(from.getProtocolHandler(), to.getProtocolHandler(), TLS::contains);
        for (SSLHostConfig tls : from.findSslHostConfigs()) {
            to.addSslHostConfig(tls);
        }
    }

    private static UpgradeProtocol copyOf(UpgradeProtocol upgrade) {
        UpgradeProtocol copy;
        try {
            copy = upgrade.getClass().getConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("server-starter: cannot copy the upgrade protocol "
                    + upgrade.getClass().getName() + " onto the inherited sockets' connectors: " + e, e);
        }
        copyProperties(upgrade, copy, name -> true);
        return copy;
    }

    private static void copyProperties(Object from, Object to, Predicate<String> copied) {
        try {
            BeanInfo info = Introspector.getBeanInfo(from.getClass());
            for (PropertyDescriptor property : info.getPropertyDescriptors()) {
                if (property.getReadMethod() == null || property.getWriteMethod() == null
                        || !copied.test(property.getName()) || !isSimple(property.getPropertyType())) {
                    continue;
                }
                Object value = property.getReadMethod().invoke(from);
                if (value != null && !value.equals(property.getReadMethod().invoke(to))) {
                    property.getWriteMethod().invoke(to, value);
                }
            }
        } catch (IntrospectionException | IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("server-starter: cannot copy Boot's connector settings: " + e, e);
        }
    }

    private static boolean isSimple(Class<?> type) {
        return type.isPrimitive() || type == String.class || Number.class.isAssignableFrom(type)
                || type == Boolean.class || type.isEnum();
    }
}

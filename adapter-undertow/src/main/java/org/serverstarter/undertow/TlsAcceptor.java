package org.serverstarter.undertow;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;

import io.undertow.Undertow;
import io.undertow.Version;
import io.undertow.connector.ByteBufferPool;
import io.undertow.protocols.ssl.UndertowXnioSsl;
import io.undertow.server.HttpHandler;

import org.serverstarter.adapters.StarterException;
import org.xnio.OptionMap;
import org.xnio.StreamConnection;
import org.xnio.channels.AcceptingChannel;
import org.xnio.ssl.SslConnection;

/**
 * Puts Undertow's own TLS acceptor around an adopted TCP acceptor, made exactly as Undertow makes the one of an HTTPS
 * listener it binds: {@code UndertowXnioSsl.createSslConnectionServer} wraps the TCP server it opens in an
 * {@code UndertowAcceptingSslChannel}, which makes each accepted connection an {@code UndertowSslConnection} with an
 * {@code SSLEngine} set up from the listener's socket options (protocols, cipher suites, client authentication). That
 * class is package-private and the method binds a port of its own, so its constructor is called by reflection, with
 * the {@code UndertowXnioSsl} and the buffers Undertow made for the placeholder HTTPS listener and the builder's socket
 * options. undertow-core has no {@code module-info}, so no JVM flag is needed.
 */
final class TlsAcceptor {
    private static final String SSL_CHANNEL = "io.undertow.protocols.ssl.UndertowAcceptingSslChannel";

    private TlsAcceptor() {
    }

    /** Whether Undertow built {@code placeholder} as an HTTPS listener. */
    static boolean isTls(Undertow.ListenerInfo placeholder) {
        return read(Undertow.ListenerInfo.class, placeholder, "ssl") != null;
    }

    /**
     * The builder's handler: with HTTP/2 the placeholder's open listener is an {@code AlpnOpenListener}, which hands
     * its handler to the listeners it picks from and keeps none it would return.
     */
    static HttpHandler handler(Undertow.Builder builder) {
        return (HttpHandler) read(Undertow.Builder.class, builder, "handler");
    }

    /**
     * Wraps {@code tcp} in a TLS acceptor like {@code placeholder}'s, with the socket options of {@code builder}.
     * Setting its accept listener sets {@code tcp}'s; closing it closes {@code tcp}.
     */
    @SuppressWarnings("unchecked")
    static AcceptingChannel<SslConnection> wrap(Undertow.ListenerInfo placeholder, Undertow.Builder builder,
            AcceptingChannel<StreamConnection> tcp) {
        UndertowXnioSsl ssl = (UndertowXnioSsl) read(Undertow.ListenerInfo.class, placeholder, "ssl");
        Object placeholderChannel = read(Undertow.ListenerInfo.class, placeholder, "channel");
        try {
            Class<?> type = Class.forName(SSL_CHANNEL, false, UndertowXnioSsl.class.getClassLoader());
            ByteBufferPool buffers = (ByteBufferPool) read(type, placeholderChannel, "applicationBufferPool");
            OptionMap options = ((OptionMap.Builder) read(Undertow.Builder.class, builder, "socketOptions")).getMap();
            Constructor<?> constructor = type.getDeclaredConstructor(UndertowXnioSsl.class, AcceptingChannel.class,
                    OptionMap.class, ByteBufferPool.class, boolean.class);
            constructor.setAccessible(true);
            return (AcceptingChannel<SslConnection>) constructor.newInstance(ssl, tcp, options, buffers, false);
        } catch (InvocationTargetException e) {
            throw new StarterException("Undertow refused to serve TLS on an inherited socket: " + e.getCause(),
                    e.getCause());
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw unsupported(SSL_CHANNEL + " constructor", e);
        }
    }

    private static Object read(Class<?> type, Object target, String name) {
        try {
            Field field = type.getDeclaredField(name);
            field.setAccessible(true);
            return field.get(target);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw unsupported(type.getName() + "." + name, e);
        }
    }

    private static StarterException unsupported(String what, Exception e) {
        return new StarterException("this Undertow (" + Version.getVersionString() + ") has no usable " + what
                + "; adapter-undertow serves TLS with undertow-core 2.3: " + e, e);
    }
}

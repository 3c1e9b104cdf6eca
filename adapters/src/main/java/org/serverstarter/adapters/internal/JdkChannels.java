package org.serverstarter.adapters.internal;

import java.io.FileDescriptor;
import java.lang.reflect.Constructor;
import java.lang.reflect.InaccessibleObjectException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.ProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.spi.SelectorProvider;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.StarterException;

/**
 * The one place that reaches into the JDK: wraps an fd number in the JDK's own {@code ServerSocketChannelImpl}, the
 * class {@code ServerSocketChannel.open()} returns, so selectors and frameworks treat it like any channel. The JDK
 * has no public way to do this except {@link System#inheritedChannel()}, which only covers fd 0. The constructor
 * {@code (SelectorProvider, ProtocolFamily, FileDescriptor, boolean bound)} exists with this signature in JDK 17
 * through 25.
 */
public final class JdkChannels {
    public static final String ADD_OPENS = "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED";

    private JdkChannels() {}

    public static ServerSocketChannel adopt(InheritedSocket socket, ProtocolFamily family) {
        Reflection r = Reflection.get(socket);
        try {
            FileDescriptor fd = (FileDescriptor) r.newFd.invoke(null, socket.fd());
            return (ServerSocketChannel) r.constructor.newInstance(SelectorProvider.provider(), family, fd, true);
        } catch (InvocationTargetException e) {
            throw Contract.entryError(socket, "cannot adopt fd " + socket.fd() + ": " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw Contract.entryError(socket, "cannot adopt fd " + socket.fd() + ": " + e, e);
        }
    }

    private record Reflection(Constructor<?> constructor, Method newFd) {
        private static volatile Reflection instance;

        static Reflection get(InheritedSocket socket) {
            Reflection r = instance;
            if (r == null) {
                r = lookUp(socket);
                instance = r;
            }
            return r;
        }

        private static Reflection lookUp(InheritedSocket socket) {
            try {
                Constructor<?> ctor = Class.forName("sun.nio.ch.ServerSocketChannelImpl").getDeclaredConstructor(
                        SelectorProvider.class, ProtocolFamily.class, FileDescriptor.class, boolean.class);
                Method newFd = Class.forName("sun.nio.ch.IOUtil").getMethod("newFD", int.class);
                ctor.setAccessible(true);
                newFd.setAccessible(true);
                return new Reflection(ctor, newFd);
            } catch (InaccessibleObjectException e) {
                throw Contract.entryError(socket, "adopting an inherited socket needs the JVM flag "
                        + ADD_OPENS + " (java.base does not open sun.nio.ch to this code)", e);
            } catch (ReflectiveOperationException e) {
                throw Contract.entryError(socket, "this JDK (" + System.getProperty("java.version")
                        + ") lacks sun.nio.ch.ServerSocketChannelImpl(SelectorProvider, ProtocolFamily, "
                        + "FileDescriptor, boolean): " + e, e);
            }
        }
    }
}

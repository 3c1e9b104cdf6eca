package org.serverstarter.undertow;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.nio.channels.ServerSocketChannel;

import org.serverstarter.adapters.StarterException;
import org.xnio.ChannelListener;
import org.xnio.ChannelListeners;
import org.xnio.OptionMap;
import org.xnio.StreamConnection;
import org.xnio.XnioWorker;
import org.xnio.channels.AcceptListenerSettable;
import org.xnio.channels.AcceptingChannel;

/**
 * Builds XNIO's own TCP acceptor around a listening channel that XNIO did not open.
 *
 * <p>XNIO has no public way to adopt a bound channel: {@code NioXnioWorker.createTcpConnectionServer}
 * always opens and binds a fresh one. What it builds around that channel is
 * {@code new QueuedNioTcpServer2(new NioTcpServer(worker, channel, options, true))}: a server registered
 * on the worker's accept thread only, whose accepted connections are queued to the I/O threads. Both
 * classes are package-private in {@code org.xnio.nio}, so we reach their constructors by reflection and
 * get exactly the object XNIO itself would hand to Undertow. xnio-nio ships no {@code module-info}: on the
 * class path and as an automatic module all its packages are open, so no JVM flag is needed.
 *
 * <p>Written against xnio-nio 3.8.16.Final; if a future XNIO changes these constructors, {@link #open}
 * fails with one line naming them instead of misbehaving.
 */
final class AdoptedAcceptor {
    private static final String TCP_SERVER = "org.xnio.nio.NioTcpServer";
    private static final String QUEUED_SERVER = "org.xnio.nio.QueuedNioTcpServer2";

    private AdoptedAcceptor() {
    }

    /**
     * Wraps {@code channel} (bound, listening, any blocking mode) as an XNIO accepting channel of
     * {@code worker}. Accepts start suspended, as with {@code XnioWorker.createStreamConnectionServer}.
     *
     * <p>The accept thread holds {@code acceptPass} while it takes connections off the listening socket and queues
     * them to the I/O threads. Whoever closes the channel, then takes {@code acceptPass}, knows that every connection
     * this process accepted has been queued to an I/O thread, where the accept listener will see it: once the close
     * returns no accept can succeed (the JDK's close waits for an accept under way), and a pass that accepted before
     * still holds {@code acceptPass}. Never hold it while closing: XNIO's close waits for the accept thread.
     *
     * @param options socket options applied to accepted connections (e.g. {@code TCP_NODELAY})
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static AcceptingChannel<StreamConnection> open(XnioWorker worker, ServerSocketChannel channel, OptionMap options,
            Object acceptPass) {
        Constructor<?> tcpServer = constructor(worker, TCP_SERVER,
                worker.getClass(), ServerSocketChannel.class, OptionMap.class, boolean.class);
        Constructor<?> queuedServer = constructor(worker, QUEUED_SERVER, tcpServer.getDeclaringClass());
        try {
            // XNIO registers the channel with a selector; it must be non-blocking first.
            channel.configureBlocking(false);
            // true = accept on the worker's dedicated accept thread, as createTcpConnectionServer does.
            Object server = tcpServer.newInstance(worker, channel, options, true);
            AcceptingChannel<StreamConnection> queued =
                    (AcceptingChannel<StreamConnection>) queuedServer.newInstance(server);
            // The queued server has just installed its hand-off as the accept listener of the one it wraps.
            AcceptListenerSettable accepting = (AcceptListenerSettable) server;
            ChannelListener handOff = accepting.getAcceptListener();
            accepting.setAcceptListener(ready -> {
                synchronized (acceptPass) {
                    ChannelListeners.invokeChannelListener((java.nio.channels.Channel) ready, handOff);
                }
            });
            return queued;
        } catch (InvocationTargetException e) {
            throw new StarterException("XNIO refused the inherited socket " + describe(channel) + ": "
                    + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException | java.io.IOException e) {
            throw new StarterException("cannot hand the inherited socket " + describe(channel) + " to XNIO: " + e, e);
        }
    }

    private static Constructor<?> constructor(XnioWorker worker, String className, Class<?>... parameters) {
        try {
            Class<?> type = Class.forName(className, false, worker.getClass().getClassLoader());
            Constructor<?> constructor = type.getDeclaredConstructor(parameters);
            constructor.setAccessible(true);
            return constructor;
        } catch (ReflectiveOperationException | RuntimeException e) {
            // RuntimeException covers InaccessibleObjectException when xnio-nio sits in a named module.
            throw new StarterException("this XNIO (" + worker.getClass().getName() + " from "
                    + worker.getXnio().getName() + ") has no usable " + className
                    + " constructor; adapter-undertow needs xnio-nio 3.8.x on the class path: " + e, e);
        }
    }

    private static String describe(ServerSocketChannel channel) {
        try {
            return String.valueOf(channel.getLocalAddress());
        } catch (java.io.IOException | RuntimeException e) {
            return channel.toString();
        }
    }
}

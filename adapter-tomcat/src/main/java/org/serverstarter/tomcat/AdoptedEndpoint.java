package org.serverstarter.tomcat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.NetworkChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.tomcat.util.net.NioChannel;
import org.apache.tomcat.util.net.NioEndpoint;
import org.apache.tomcat.util.net.SocketWrapperBase;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.internal.Drain;

/**
 * Tomcat's NIO endpoint on a listening socket it was handed, instead of one it binds. It never binds, never unlinks a
 * unix socket path and never connects to its own socket; closing it closes only this process's fd, so the superdaemon
 * and the next generation keep the socket.
 *
 * <p>{@code NioEndpoint} keeps its channel in a private field, so the four methods that use it are overridden here
 * ({@link #initServerSocket}, {@link #serverSocketAccept}, {@link #getServerSocket}, {@link #doCloseServerSocket});
 * {@code initServerSocket} is the method Tomcat separates out for subclasses with server sockets of their own.
 * Everything else (the acceptor thread, the poller, the processors, TLS when configured) is Tomcat's own.
 *
 * <p>Tomcat wakes an acceptor blocked in {@code accept()} by connecting to its own socket ({@code unlockAccept}). On a
 * shared socket that connection could reach another generation, while this acceptor would take, and reset, a real
 * client's. Closing the channel wakes the acceptor without a connection, so that is what {@link #unlockAccept} does,
 * and a paused connector never accepts again: pausing is how Tomcat begins to stop.
 *
 * <p>The acceptor takes nothing before {@link #startAccepting()}, which the starter calls once the app is ready
 * ({@code Readiness}): a generation that is still warming up leaves its clients to the one still serving.
 */
final class AdoptedEndpoint extends NioEndpoint {
    private final InheritedSocket socket;
    private final ServerSocketChannel channel;
    private final Drain drain;
    // Held by the acceptor from accept() until the connection is recorded, so the drain can wait for that hand-off.
    private final Object acceptPass = new Object();
    private final Object released = new Object();
    private volatile boolean closed;
    private volatile boolean open;

    AdoptedEndpoint(InheritedSocket socket, ServerSocketChannel channel, Drain drain) {
        this.socket = socket;
        this.channel = channel;
        this.drain = drain;
        // Tomcat adds every connection it serves to this map and removes it once closed: the drain's close events.
        connections = new Connections(drain);
        if (socket.isUnix()) {
            // Only informs Tomcat that the connections are unix ones (no TCP options, no peer address); the path is
            // never bound nor deleted, since initServerSocket and doCloseServerSocket are overridden.
            setUnixDomainSocketPath(socket.key());
        } else {
            try {
                InetSocketAddress local = (InetSocketAddress) channel.getLocalAddress();
                // For Connector.getPort() and the like; nothing binds them.
                setAddress(local.getAddress());
                setPort(local.getPort());
            } catch (IOException | ClassCastException e) {
                // The probe in openServerChannel() checked it is a listening TCP socket; its address is only informative.
            }
        }
    }

    /** The entry's key: Tomcat names the protocol handler, its threads and its MBeans after it. */
    @Override
    public String getId() {
        return socket.key();
    }

    @Override
    protected void initServerSocket() {
        if (closed) {
            throw new IllegalStateException("the inherited socket " + socket + " was closed when its connector stopped "
                    + "accepting; a connector of TomcatServerStarter serves once");
        }
    }

    @Override
    protected NetworkChannel getServerSocket() {
        return closed ? null : channel;
    }

    /**
     * Accepts the next connection and records it for the drain before the acceptor hands it to the poller. Once the
     * channel was closed here, waits until the endpoint pauses or stops, then returns null, which the overrides below
     * treat as nothing accepted: the acceptor must neither log an accept failure (it would, while the endpoint still
     * runs) nor spin on the closed channel.
     */
    @Override
    protected SocketChannel serverSocketAccept() throws Exception {
        awaitOpen();
        synchronized (acceptPass) {
            try {
                SocketChannel accepted = channel.accept();
                drain.connectionOpened(accepted);
                return accepted;
            } catch (IOException e) {
                if (!closed) {
                    throw e;
                }
            }
        }
        synchronized (released) {
            while (isRunning() && !isPaused()) {
                try {
                    released.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return null;
    }

    @Override
    protected boolean setSocketOptions(SocketChannel accepted) {
        if (accepted == null) {
            // Only after a resume() that raced with the close: the acceptor counted a connection that never came.
            countDownConnection();
            return true;
        }
        return super.setSocketOptions(accepted);
    }

    @Override
    protected void destroySocket(SocketChannel accepted) {
        if (accepted == null) {
            countDownConnection();
            return;
        }
        drain.connectionClosed(accepted);
        super.destroySocket(accepted);
    }

    /**
     * Lets the acceptor take connections: until then it waits before {@code accept()} (outside {@code acceptPass}, so
     * a drain does not wait for it), and the generation still serving takes them.
     */
    void startAccepting() {
        open = true;
        synchronized (released) {
            released.notifyAll();
        }
    }

    private void awaitOpen() throws InterruptedException {
        synchronized (released) {
            while (!open && !closed && isRunning() && !isPaused()) {
                released.wait();
            }
        }
    }

    /** Called by {@code pause()}: stops accepting for good and releases the acceptor (see the class comment). */
    @Override
    protected void unlockAccept() {
        stopAccepting();
    }

    @Override
    protected void doCloseServerSocket() {
        stopAccepting();
    }

    /** Closes this process's fd of the listening socket, once; the acceptor, if blocked in accept(), wakes up. */
    void stopAccepting() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            System.err.println("TomcatServerStarter: closing " + socket + " failed: " + e);
        }
        synchronized (released) {
            released.notifyAll();
        }
    }

    /**
     * Waits until the acceptor has recorded every connection it took off the socket before {@link #stopAccepting()}.
     * A closed channel fails the acceptor's next accept() at once, so this never waits for a client.
     */
    void awaitHandOff() {
        synchronized (acceptPass) {
            // Entered once the acceptor is out of accept() and its connection, if any, is recorded.
        }
    }

    @Override
    public String toString() {
        return "AdoptedEndpoint[" + socket + "]";
    }

    /** Tomcat's map of open connections, reporting each removal (a closed connection) to the drain. */
    private static final class Connections extends ConcurrentHashMap<SocketChannel, SocketWrapperBase<NioChannel>> {
        private static final long serialVersionUID = 1L;
        private final transient Drain drain;

        Connections(Drain drain) {
            this.drain = drain;
        }

        @Override
        public SocketWrapperBase<NioChannel> remove(Object key) {
            SocketWrapperBase<NioChannel> removed = super.remove(key);
            drain.connectionClosed(key);
            return removed;
        }
    }
}

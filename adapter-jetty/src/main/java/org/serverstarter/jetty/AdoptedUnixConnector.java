package org.serverstarter.jetty;

import java.io.IOException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.IO;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Serves an inherited, already listening unix socket. Jetty's own {@code UnixDomainServerConnector} cannot be used: it
 * only binds a path itself, and its {@code close()} deletes the socket file, which would pull the path from under the
 * superdaemon and the next generation. This connector never binds and never touches the file; shutting it down or
 * stopping it closes only this process's fd.
 */
final class AdoptedUnixConnector extends AbstractConnector {
    private final ServerSocketChannel channel;
    private final SelectorManager selectorManager;

    AdoptedUnixConnector(Server server, ServerSocketChannel channel, ConnectionFactory... factories) {
        super(server, null, null, null, 1, factories);
        this.channel = channel;
        this.selectorManager = new Selectors(getExecutor(), getScheduler());
        addBean(selectorManager, true);
    }

    @Override
    protected void accept(int acceptorID) throws IOException {
        SocketChannel connection = channel.accept();
        connection.configureBlocking(false);
        selectorManager.accept(connection);
    }

    @Override
    public Object getTransport() {
        return channel;
    }

    /**
     * Stops accepting at once: closes this process's fd, so the next generation accepts what is still queued. The
     * connector is not shut down by this, so it keeps its open connections as they are.
     */
    void stopAccepting() {
        IO.close(channel);
    }

    @Override
    public CompletableFuture<Void> shutdown() {
        stopAccepting();
        return super.shutdown();
    }

    @Override
    protected boolean handleAcceptFailure(Throwable failure) {
        // Accepting on the channel shutdown() closed fails; that ends the acceptor, and is no error worth a log line.
        return channel.isOpen() && super.handleAcceptFailure(failure);
    }

    @Override
    protected void doStop() throws Exception {
        super.doStop();
        IO.close(channel);
    }

    private final class Selectors extends SelectorManager {
        Selectors(Executor executor, Scheduler scheduler) {
            super(executor, scheduler, 1);
        }

        @Override
        protected EndPoint newEndPoint(SelectableChannel ch, ManagedSelector selector, SelectionKey key) {
            SocketChannelEndPoint endPoint = new SocketChannelEndPoint((SocketChannel) ch, selector, key, getScheduler());
            endPoint.setIdleTimeout(getIdleTimeout());
            return endPoint;
        }

        @Override
        public Connection newConnection(SelectableChannel ch, EndPoint endPoint, Object attachment) {
            return getDefaultConnectionFactory().newConnection(AdoptedUnixConnector.this, endPoint);
        }

        @Override
        protected void endPointOpened(EndPoint endPoint) {
            super.endPointOpened(endPoint);
            onEndPointOpened(endPoint);
        }

        @Override
        protected void endPointClosed(EndPoint endPoint) {
            onEndPointClosed(endPoint);
            super.endPointClosed(endPoint);
        }
    }
}

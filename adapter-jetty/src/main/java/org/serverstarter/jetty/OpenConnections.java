package org.serverstarter.jetty;

import java.nio.channels.SelectableChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.server.Connector;
import org.serverstarter.adapters.internal.Drain;

/**
 * Reports to the {@link Drain} the connections a server's connectors have accepted and not yet closed, from the
 * moment the acceptor hands a socket to the selector. Jetty's own endpoint count (what {@code Connector.shutdown()}
 * waits for) starts later, once the selector has made an endpoint of it, so a connection accepted just before the
 * connector stopped accepting can be missing from it; a drain that trusts that count would stop the server under the
 * request such a client is sending.
 *
 * <p>Jetty 12.1 reports every close of an accepted channel through {@link SelectorManager.AcceptListener}; 12.0 has no
 * such callback, so the close of each connection is also followed as a {@link Connection.Listener}. A channel closed
 * twice is reported twice, which the drain ignores.
 */
final class OpenConnections implements SelectorManager.AcceptListener, Connection.Listener {
    private final Drain drain;
    private final Set<Connector> followed = ConcurrentHashMap.newKeySet();

    OpenConnections(Drain drain) {
        this.drain = drain;
    }

    /**
     * Follows the connections of {@code connector}, if it accepts through a {@link SelectorManager} (as
     * {@code ServerConnector} and the unix connector do). Call before the connector starts; calling again is harmless.
     */
    void follow(Connector connector) {
        SelectorManager selectors = connector.getBean(SelectorManager.class);
        if (selectors != null && followed.add(connector)) {
            selectors.addEventListener(this);
            // Jetty adds the connector's Connection.Listener beans to every connection it makes.
            connector.addEventListener(this);
        }
    }

    @Override
    public void onAccepting(SelectableChannel channel) {
        drain.connectionOpened(channel);
    }

    @Override
    public void onAcceptFailed(SelectableChannel channel, Throwable cause) {
        closed(channel);
    }

    /** Jetty 12.1 and later; not an override on 12.0, where nobody calls it. */
    public void onClosed(SelectableChannel channel) {
        closed(channel);
    }

    @Override
    public void onClosed(Connection connection) {
        if (connection.getEndPoint().getTransport() instanceof SelectableChannel channel) {
            closed(channel);
        }
    }

    private void closed(SelectableChannel channel) {
        drain.connectionClosed(channel);
    }
}

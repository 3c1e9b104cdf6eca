package org.serverstarter.undertow;

import java.io.IOException;

import org.xnio.ChannelListener;
import org.xnio.ChannelListeners;
import org.xnio.StreamConnection;
import org.xnio.channels.AcceptingChannel;
import org.serverstarter.adapters.internal.Drain;

/**
 * Reports to the {@link Drain} the connections this process has accepted and not yet closed, so that a drain can wait
 * for them to close: XNIO has no listener for that, so each connection's close listener is chained.
 */
final class OpenConnections {
    private final Drain drain;

    OpenConnections(Drain drain) {
        this.drain = drain;
    }

    /**
     * Sets {@code acceptor}'s accept listener to one that hands each accepted connection to {@code openListener} (as
     * XNIO's {@code ChannelListeners.openListenerAdapter} does) and follows it until it closes.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    <C extends StreamConnection> void listen(AcceptingChannel<C> acceptor,
            ChannelListener<StreamConnection> openListener) {
        ((ChannelListener.Setter) acceptor.getAcceptSetter()).set(acceptListener(openListener));
    }

    private <C extends StreamConnection> ChannelListener<AcceptingChannel<C>> acceptListener(
            ChannelListener<StreamConnection> openListener) {
        return acceptor -> {
            StreamConnection connection;
            try {
                connection = acceptor.accept();
            } catch (IOException e) {
                // The acceptor was closed by a drain; nothing was accepted.
                return;
            }
            if (connection == null) {
                return;
            }
            opened(connection);
            openListener.handleEvent(connection);
            // Undertow's connection installs its own close listener; ours runs after it. Read isOpen() only once ours
            // is in place: a close that ran Undertow's listener before that is seen here instead.
            ChannelListener<? super StreamConnection> undertows = connection.getCloseListener();
            connection.setCloseListener(closed -> {
                try {
                    ChannelListeners.invokeChannelListener(closed, undertows);
                } finally {
                    closed(closed);
                }
            });
            if (!connection.isOpen()) {
                closed(connection);
            }
        };
    }

    private void opened(StreamConnection connection) {
        drain.connectionOpened(connection);
    }

    private void closed(StreamConnection connection) {
        drain.connectionClosed(connection);
    }
}

package org.serverstarter.undertow;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.xnio.ChannelListener;
import org.xnio.ChannelListeners;
import org.xnio.StreamConnection;
import org.xnio.channels.AcceptingChannel;

/**
 * The connections this process has accepted and not yet closed. A drain waits for this set to empty rather than for a
 * quiet spell without requests: an idle keep-alive connection closed by the server can cross the request its client
 * sends at that moment, and the client sees the connection close without an answer.
 */
final class OpenConnections {
    private final Set<StreamConnection> open = new HashSet<>();

    /**
     * An accept listener that hands each accepted connection to {@code openListener} (as XNIO's
     * {@code ChannelListeners.openListenerAdapter} does) and follows it until it closes.
     */
    ChannelListener<AcceptingChannel<StreamConnection>> acceptListener(ChannelListener<StreamConnection> openListener) {
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

    private synchronized void opened(StreamConnection connection) {
        open.add(connection);
    }

    private synchronized void closed(StreamConnection connection) {
        if (open.remove(connection) && open.isEmpty()) {
            notifyAll();
        }
    }

    synchronized int count() {
        return open.size();
    }

    /**
     * Waits until every connection is closed, or until {@code deadlineNanos} (a {@link System#nanoTime()} value).
     *
     * @return true when none is open
     */
    synchronized boolean awaitNone(long deadlineNanos) throws InterruptedException {
        while (!open.isEmpty()) {
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }
}

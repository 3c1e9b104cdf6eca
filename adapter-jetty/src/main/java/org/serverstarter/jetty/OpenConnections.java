package org.serverstarter.jetty;

import java.nio.channels.SelectableChannel;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.server.Connector;

/**
 * The connections a server's connectors have accepted and not yet closed, from the moment the acceptor hands a socket
 * to the selector. Jetty's own endpoint count (what {@code Connector.shutdown()} waits for) starts later, once the
 * selector has made an endpoint of it, so a connection accepted just before the connector stopped accepting can be
 * missing from it; a drain that trusts that count would stop the server under the request such a client is sending.
 */
final class OpenConnections implements SelectorManager.AcceptListener {
    private final Set<SelectableChannel> open = new HashSet<>();

    /**
     * Follows the connections of {@code connector}, if it accepts through a {@link SelectorManager} (as
     * {@code ServerConnector} and the unix connector do). Call before the connector starts; calling again is harmless.
     */
    void follow(Connector connector) {
        SelectorManager selectors = connector.getBean(SelectorManager.class);
        if (selectors != null) {
            selectors.addEventListener(this);
        }
    }

    @Override
    public synchronized void onAccepting(SelectableChannel channel) {
        open.add(channel);
    }

    @Override
    public void onAcceptFailed(SelectableChannel channel, Throwable cause) {
        closed(channel);
    }

    @Override
    public void onClosed(SelectableChannel channel) {
        closed(channel);
    }

    private synchronized void closed(SelectableChannel channel) {
        if (open.remove(channel) && open.isEmpty()) {
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

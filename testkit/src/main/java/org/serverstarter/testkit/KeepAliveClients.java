package org.serverstarter.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Clients that each keep a connection alive and go on sending on it while the server drains with a spread: the
 * server must answer every request, and tell each connection to close at one of its answers rather than all of them
 * at their first.
 */
public final class KeepAliveClients implements AutoCloseable {
    private final List<HttpConnection> open = new ArrayList<>();

    private KeepAliveClients() {}

    /** {@code count} connections to {@code address}, each kept alive after one answered request. */
    public static KeepAliveClients open(InetSocketAddress address, int count) throws IOException {
        KeepAliveClients clients = new KeepAliveClients();
        try {
            for (int i = 0; i < count; i++) {
                HttpConnection c = HttpConnection.open(address);
                clients.open.add(c);
                assertEquals(200, c.get("/").status());
            }
        } catch (IOException | RuntimeException | Error e) {
            try {
                clients.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return clients;
    }

    /**
     * Once the drain has begun: sends one round right away, of which some but not all must be told to close, then
     * rounds until every connection was told, within {@code timeout}. The spread must be long enough (seconds) that
     * the first round, sent at its start, cannot see all of its closes.
     */
    public void assertToldToCloseOverTheSpread(Duration timeout) throws IOException {
        int count = open.size();
        int closedAtOnce = sendOneRound();
        assertTrue(closedAtOnce < count, "every connection was closed at its first response, as without a spread");
        Await.until("every client told to close its connection", timeout, () -> {
            try {
                sendOneRound();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return open.isEmpty();
        });
    }

    /** One request on each connection; those answered with {@code Connection: close} are closed and dropped. */
    private int sendOneRound() throws IOException {
        int closed = 0;
        for (Iterator<HttpConnection> it = open.iterator(); it.hasNext(); ) {
            HttpConnection c = it.next();
            HttpResponse response = c.get("/");
            assertEquals(200, response.status(), "a request on a kept-alive connection during the spread");
            if ("close".equals(response.header("connection"))) {
                c.close();
                it.remove();
                closed++;
            }
        }
        return closed;
    }

    @Override
    public void close() throws IOException {
        IOException failed = null;
        for (HttpConnection c : open) {
            try {
                c.close();
            } catch (IOException e) {
                if (failed == null) {
                    failed = e;
                } else {
                    failed.addSuppressed(e);
                }
            }
        }
        open.clear();
        if (failed != null) {
            throw failed;
        }
    }
}

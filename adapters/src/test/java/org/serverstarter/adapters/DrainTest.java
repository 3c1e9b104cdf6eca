package org.serverstarter.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class DrainTest {

    @Test
    @Timeout(10)
    void awaitIdleReturnsWhenTheLastRequestFinishes() throws Exception {
        Drain drain = new Drain();
        drain.requestStarted();
        drain.requestStarted();
        drain.begin();
        assertTrue(drain.isDraining());
        assertFalse(drain.awaitIdle(Duration.ZERO));

        CompletableFuture<Boolean> idle = CompletableFuture.supplyAsync(() -> {
            try {
                return drain.awaitIdle(Duration.ofSeconds(8));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        drain.requestFinished();
        assertEquals(1, drain.inFlight());
        drain.requestFinished();
        assertTrue(idle.get(9, TimeUnit.SECONDS));
    }

    @Test
    @Timeout(10)
    void awaitNoConnectionsReturnsWhenTheLastConnectionCloses() throws Exception {
        Drain drain = new Drain();
        Object first = new Object();
        Object second = new Object();
        drain.connectionOpened(first);
        drain.connectionOpened(second);
        drain.connectionClosed(first);
        drain.connectionClosed(first); // closing twice is harmless
        assertEquals(1, drain.openConnections());
        assertFalse(drain.awaitNoConnections(System.nanoTime()));
        CompletableFuture<Boolean> none = CompletableFuture.supplyAsync(() -> {
            try {
                return drain.awaitNoConnections(System.nanoTime() + TimeUnit.SECONDS.toNanos(8));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        drain.connectionClosed(second);
        assertTrue(none.get(9, TimeUnit.SECONDS));
        assertEquals(0, drain.openConnections());
    }

    @Test
    void unmatchedFinishIsABug() {
        assertThrows(IllegalStateException.class, () -> new Drain().requestFinished());
    }
}

package org.serverstarter.adapters.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
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
    void withoutASpreadEveryResponseClosesOnceDraining() {
        Drain drain = new Drain();
        Object connection = new Object();
        assertFalse(drain.closesConnection(connection), "not draining yet");
        drain.begin();
        for (int i = 0; i < 1000; i++) {
            assertTrue(drain.closesConnection(new Object()));
        }
    }

    @Test
    void duringALongSpreadAlmostNoConnectionClosesYet() {
        Drain drain = new Drain();
        drain.begin(Duration.ofDays(1));
        drain.begin(); // only the first begin counts
        int closes = 0;
        for (int i = 0; i < 1000; i++) {
            closes += drain.closesConnection(new Object()) ? 1 : 0;
        }
        // Each connection's moment is uniform over the day: about 1e-8 of them come within the first millisecond.
        assertEquals(0, closes);
    }

    @Test
    void theConnectionsMomentsAreSpreadEvenlyAndStayPut() {
        Drain drain = new Drain();
        long spread = TimeUnit.SECONDS.toNanos(10);
        drain.begin(Duration.ofNanos(spread));
        int[] tenths = new int[10];
        for (int i = 0; i < 10_000; i++) {
            Object connection = new Object();
            long moment = drain.momentNanos(connection);
            assertTrue(moment >= 0 && moment < spread, "moment " + moment);
            assertEquals(moment, drain.momentNanos(connection), "a connection's moment changed");
            tenths[(int) (moment * 10 / spread)]++;
        }
        for (int count : tenths) {
            // 1,000 expected per tenth (standard deviation 30): a fair spread strays outside 800-1,200 about once in
            // 10^10 runs.
            assertTrue(count > 800 && count < 1200, Arrays.toString(tenths));
        }
    }

    @Test
    @Timeout(10)
    void afterTheSpreadEveryConnectionCloses() throws Exception {
        Drain drain = new Drain();
        long before = System.nanoTime();
        drain.begin(Duration.ofMillis(100));
        drain.awaitSpread();
        assertTrue(System.nanoTime() - before >= TimeUnit.MILLISECONDS.toNanos(100), "awaitSpread returned early");
        for (int i = 0; i < 1000; i++) {
            assertTrue(drain.closesConnection(new Object()));
        }
    }

    @Test
    void theSpreadStaysWithinTheDrainTimeout() {
        assertEquals(Drain.DEFAULT_SPREAD, Drain.spreadWithin(Duration.ofSeconds(30)));
        assertEquals(Duration.ofMillis(50), Drain.spreadWithin(Duration.ofMillis(50)));
        assertThrows(IllegalArgumentException.class, () -> new Drain().begin(Duration.ofMillis(-1)));
    }

    @Test
    void unmatchedFinishIsABug() {
        assertThrows(IllegalStateException.class, () -> new Drain().requestFinished());
    }
}

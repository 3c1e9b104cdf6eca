package org.serverstarter.spring.boot;

import java.time.Duration;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.boot.web.server.context.WebServerGracefulShutdownLifecycle;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the adapter's drain when the context closes (TERM, or the lifeline reporting {@code start_server} gone), in
 * the phase just before Boot's own graceful shutdown: Boot's would stop accepting and wait for running requests, but
 * leave kept-alive connections to be closed under a client that is sending on them; after the drain there is nothing
 * left for it to wait for.
 */
final class DrainBeforeGracefulShutdown implements SmartLifecycle {
    private static final Log LOG = LogFactory.getLog(DrainBeforeGracefulShutdown.class);
    /** The adapter's drain: true when every connection finished within the timeout. */
    interface Drain {
        boolean drain(Duration timeout, Duration spread);
    }

    private final Drain drain;
    private final Duration timeout;
    private final Duration spread;
    private volatile boolean running;

    DrainBeforeGracefulShutdown(Drain drain, Duration timeout, Duration spread) {
        this.drain = drain;
        this.timeout = timeout;
        this.spread = spread;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        running = false;
        long start = System.nanoTime();
        LOG.info("Draining: no new connections; open ones finish, keep-alive clients are told to reconnect (at most "
                + timeout.toMillis() + " ms)");
        try {
            if (drain.drain(timeout, spread)) {
                LOG.info("Drained in " + Duration.ofNanos(System.nanoTime() - start).toMillis() + " ms");
            }
        } catch (IllegalStateException e) {
            // The web server never started (the context failed first): nothing was served, nothing to drain.
            LOG.debug("Nothing to drain: " + e.getMessage());
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return WebServerGracefulShutdownLifecycle.SMART_LIFECYCLE_PHASE + 1;
    }
}

package org.serverstarter.spring.boot;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** Settings of the app's part in {@code start_server}'s restarts, under {@code server-starter.*}. */
@ConfigurationProperties("server-starter")
public class ServerStarterProperties {
    /**
     * How long a retired generation waits for its open connections to finish before it stops anyway. Unset, it is
     * spring.lifecycle.timeout-per-shutdown-phase (30s unless set), which also bounds it.
     */
    private Duration drainTimeout;

    /**
     * Over how long the drain spreads the Connection: close answers to keep-alive clients, so that they do not all
     * reconnect to the next generation in the same millisecond. 0 tells every one at its next response.
     */
    private Duration drainSpread = Duration.ofMillis(200);

    /**
     * Whether the app sends READY=1 itself (Readiness.notifyReady()), instead of it being sent when the app's
     * readiness state becomes ACCEPTING_TRAFFIC.
     */
    private boolean deferReady;

    public Duration getDrainTimeout() {
        return drainTimeout;
    }

    public void setDrainTimeout(Duration drainTimeout) {
        this.drainTimeout = drainTimeout;
    }

    public Duration getDrainSpread() {
        return drainSpread;
    }

    public void setDrainSpread(Duration drainSpread) {
        this.drainSpread = drainSpread;
    }

    public boolean isDeferReady() {
        return deferReady;
    }

    public void setDeferReady(boolean deferReady) {
        this.deferReady = deferReady;
    }
}

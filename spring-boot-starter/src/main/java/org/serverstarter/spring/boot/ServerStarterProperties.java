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

    private final WarmUp warmUp = new WarmUp();

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

    public WarmUp getWarmUp() {
        return warmUp;
    }

    /**
     * Requests the app sends itself, on a private loopback listener of its own server, after its runners and before
     * it declares itself ready for traffic (and READY=1 goes out): a new generation then takes over its clients with
     * the request path loaded and compiled.
     */
    public static class WarmUp {
        /**
         * How many GET requests the warm-up sends; 0, the default, is no warm-up. Every one must be answered with a
         * 2xx status, or the app stops instead of becoming ready.
         */
        private int requests;

        /** How many of them go over one keep-alive connection before the next connection is opened. */
        private int requestsPerConnection = 10;

        /** What the warm-up requests: a path from /, with any query. It must be safe to request many times. */
        private String path = "/";

        public int getRequests() {
            return requests;
        }

        public void setRequests(int requests) {
            this.requests = requests;
        }

        public int getRequestsPerConnection() {
            return requestsPerConnection;
        }

        public void setRequestsPerConnection(int requestsPerConnection) {
            this.requestsPerConnection = requestsPerConnection;
        }

        public String getPath() {
            return path;
        }

        public void setPath(String path) {
            this.path = path;
        }
    }
}

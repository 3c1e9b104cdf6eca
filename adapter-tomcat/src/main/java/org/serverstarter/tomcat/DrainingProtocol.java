package org.serverstarter.tomcat;

import java.time.Duration;
import java.util.Enumeration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletConnection;
import org.apache.catalina.connector.CoyoteAdapter;
import org.apache.coyote.Adapter;
import org.apache.coyote.Processor;
import org.apache.coyote.Request;
import org.apache.coyote.Response;
import org.apache.coyote.UpgradeProtocol;
import org.apache.coyote.http11.Http11NioProtocol;
import org.apache.coyote.http2.Http2Protocol;
import org.apache.tomcat.util.http.MimeHeaders;
import org.apache.tomcat.util.net.SocketEvent;
import org.serverstarter.adapters.internal.Drain;

/**
 * Tomcat's HTTP/1.1 NIO protocol, on an {@link AdoptedEndpoint}, whose responses carry {@code Connection: close} when
 * the drain says so ({@link Drain#closesConnection}). Tomcat then ends the connection after the response, as it does
 * for any response with that header, and a client that reads it goes elsewhere.
 *
 * <p>The header must be in place before Tomcat decides whether the connection stays open, which it does when it
 * commits the response ({@code Http11Processor.prepareResponse}), on the thread that commits it. Tomcat has no
 * listener for that moment and its processor's hooks are final or package-private. The last call it makes into the
 * protocol before the decision is {@link #useCompression}, with the request and the response, made for every response
 * that has a body and is not sent with sendfile; that is where the header is added, so a request that was running
 * when the drain began also closes its connection. Responses without a body (204, 304) or sent with sendfile skip that
 * call, so the header is also added when a request starts ({@link #setAdapter}); such a response to a request that
 * was already running leaves its connection to the client's next request.
 *
 * <p>Tomcat's own way to stop serving, {@code pause()}, is not what a drain needs: a paused endpoint answers 503 to
 * the next request on a connection that is already open and closes a kept-alive connection after its response without
 * saying so. The drain never pauses the endpoint; Tomcat pauses when it stops, after the drain.
 *
 * <p>An HTTP/2 connection has no {@code Connection: close}: it is told with a GOAWAY. Tomcat sends one when it pauses
 * the connection's processor ({@code Processor.pause()}, which only HTTP/2 implements): a GOAWAY with the highest stream
 * id, after which the client opens no new stream there while the open ones finish; a stream the client opened anyway
 * after a round trip (and Http2Protocol's {@code drainTimeout}) gets the second GOAWAY, with the last stream Tomcat
 * took. Tomcat reaches an upgraded connection's processor only while it waits for its next frame, when the protocol
 * holds it as a waiting processor; so the drain pauses every one held then, and each one that comes to wait later.
 *
 * <p>One round trip, as Tomcat measures it (by its last PING, microseconds on a quiet link), is too short for a client
 * that was busy on the connection: streams it wrote before it read the first GOAWAY arrive after that and are refused
 * unanswered. So unless the app set {@code Http2Protocol.drainTimeout} itself, it is {@link #HTTP2_DRAIN} here, the
 * time those streams are still taken (Tomcat 11.0.22 and later; Tomcat adds the value to {@code System.nanoTime()}).
 */
final class DrainingProtocol extends Http11NioProtocol {
    private static final boolean HAS_DRAIN_TIMEOUT = hasDrainTimeout();
    private final Drain drain;
    static final Duration HTTP2_DRAIN = Duration.ofSeconds(1);
    /** Upgraded (HTTP/2) connections waiting for their next frame: what {@link #goAway} reaches. */
    private final Set<Processor> waitingUpgraded = ConcurrentHashMap.newKeySet();

    DrainingProtocol(AdoptedEndpoint endpoint, Drain drain) {
        super(endpoint);
        this.drain = drain;
    }

    @Override
    public void start() throws Exception {
        for (UpgradeProtocol upgrade : findUpgradeProtocols()) {
            if (upgrade instanceof Http2Protocol http2 && HAS_DRAIN_TIMEOUT && http2.getDrainTimeout() == 0) {
                http2.setDrainTimeout(HTTP2_DRAIN.toNanos());
            }
        }
        super.start();
    }

    /** Sends each HTTP/2 connection a GOAWAY; called once the drain has begun. */
    void goAway() {
        waitingUpgraded.forEach(Processor::pause);
    }

    @Override
    public void addWaitingProcessor(Processor processor) {
        super.addWaitingProcessor(processor);
        if (processor.isUpgrade()) {
            waitingUpgraded.add(processor);
            if (drain.isDraining()) {
                // Busy when goAway() ran, or upgraded since; pausing twice sends nothing more.
                processor.pause();
            }
        }
    }

    @Override
    public void removeWaitingProcessor(Processor processor) {
        waitingUpgraded.remove(processor);
        super.removeWaitingProcessor(processor);
    }

    @Override
    public boolean useCompression(Request request, Response response) {
        closeIfDraining(request, response);
        return super.useCompression(request, response);
    }

    /** Wraps the connector's adapter (Catalina's {@code CoyoteAdapter}), which the connector sets when it is initialised. */
    @Override
    public void setAdapter(Adapter adapter) {
        super.setAdapter(adapter == null ? null : new StartOfRequest(adapter));
    }

    private void closeIfDraining(Request request, Response response) {
        if (!drain.isDraining() || response.isCommitted() || !isHttp1(request)
                || hasCloseToken(response.getMimeHeaders())) {
            return;
        }
        ServletConnection connection = request.getServletConnection();
        // Tomcat keeps one ServletConnection per connection, so each has one moment in the drain's spread.
        if (drain.closesConnection(connection != null ? connection : request)) {
            response.getMimeHeaders().addValue("Connection").setString("close");
        }
    }

    /**
     * HTTP/2 streams served through an h2c upgrade go through the same adapter; a connection header is not theirs to
     * carry (HTTP/2 ends a connection with GOAWAY).
     */
    private static boolean isHttp1(Request request) {
        return request.protocol().toString().startsWith("HTTP/1.");
    }

    private static boolean hasDrainTimeout() {
        try {
            Http2Protocol.class.getMethod("setDrainTimeout", long.class);
            return true;
        } catch (NoSuchMethodException | LinkageError e) {
            return false;
        }
    }

    private static boolean hasCloseToken(MimeHeaders headers) {
        for (Enumeration<String> values = headers.values("Connection"); values.hasMoreElements(); ) {
            for (String token : values.nextElement().split(",")) {
                if (token.trim().equalsIgnoreCase("close")) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Adds {@code Connection: close} as a request reaches the container, then lets Catalina serve it, counting it in
     * flight (for the drain's report) until Catalina is done with it: when {@code service} returns, or, for a request
     * that went asynchronous, when its {@code AsyncContext} completes.
     */
    private final class StartOfRequest implements Adapter {
        private final Adapter delegate;

        StartOfRequest(Adapter delegate) {
            this.delegate = delegate;
        }

        @Override
        public void service(Request request, Response response) throws Exception {
            closeIfDraining(request, response);
            drain.requestStarted();
            boolean finishesLater = false;
            try {
                delegate.service(request, response);
                finishesLater = followAsync(request);
            } finally {
                if (!finishesLater) {
                    drain.requestFinished();
                }
            }
        }

        /**
         * Whether the request went asynchronous; then the drain hears of its end from a listener on its context. Tomcat
         * completes an asynchronous request, and fires its listeners, only after {@code service} has returned, so the
         * listener added here cannot miss it.
         */
        private boolean followAsync(Request request) {
            if (request.getNote(CoyoteAdapter.ADAPTER_NOTES) instanceof org.apache.catalina.connector.Request servlet
                    && servlet.isAsyncStarted()) {
                try {
                    servlet.getAsyncContext().addListener(new Finished());
                    return true;
                } catch (IllegalStateException e) {
                    return false; // already over
                }
            }
            return false;
        }

        @Override
        public boolean prepare(Request request, Response response) throws Exception {
            return delegate.prepare(request, response);
        }

        @Override
        public boolean asyncDispatch(Request request, Response response, SocketEvent status) throws Exception {
            return delegate.asyncDispatch(request, response, status);
        }

        @Override
        public void log(Request request, Response response, long time) {
            delegate.log(request, response, time);
        }

        @Override
        public void checkRecycled(Request request, Response response) {
            delegate.checkRecycled(request, response);
        }

        @Override
        public String getDomain() {
            return delegate.getDomain();
        }
    }

    /** Ends an asynchronous request's count once, when it completes (also after a time-out or an error). */
    private final class Finished implements AsyncListener {
        private final AtomicBoolean done = new AtomicBoolean();

        @Override
        public void onComplete(AsyncEvent event) {
            if (done.compareAndSet(false, true)) {
                drain.requestFinished();
            }
        }

        @Override
        public void onTimeout(AsyncEvent event) {
            // onComplete follows
        }

        @Override
        public void onError(AsyncEvent event) {
            // onComplete follows
        }

        @Override
        public void onStartAsync(AsyncEvent event) {
            // A new asynchronous cycle drops the listeners of the previous one.
            event.getAsyncContext().addListener(this);
        }
    }
}

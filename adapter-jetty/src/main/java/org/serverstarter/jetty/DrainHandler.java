package org.serverstarter.jetty;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.serverstarter.adapters.internal.Drain;

/**
 * Counts requests in flight and, while draining, marks HTTP/1 responses {@code Connection: close} (as
 * {@link Drain#closesConnection} decides) at the moment they are committed, so a request that started before the
 * drain but answers after it also sends its client elsewhere. Jetty's {@code GracefulHandler} is not used because it
 * answers 503 to requests on connections that are already open.
 *
 * <p>It also counts the responses committed without {@code Connection: close} (before the drain began, or during its
 * spread) that are still being sent: their clients will reuse the connection, so the connectors must not be shut down
 * under them (see {@link #awaitKeepAliveResponses}).
 */
final class DrainHandler extends Handler.Wrapper {
    private final Drain drain;
    private int keepAliveResponses;

    DrainHandler(Drain drain, Handler handler) {
        super(handler);
        this.drain = drain;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        drain.requestStarted();
        if (request.getConnectionMetaData().getHttpVersion().getVersion() >= 20) {
            // HTTP/2 and later have no Connection header: their connections are told by GOAWAY when the connectors
            // shut down (see JettyServerStarter#drain), and a stream that ends does not keep its connection busy.
            Request.addCompletionListener(request, failure -> drain.requestFinished());
            return super.handle(request, response, callback);
        }
        AtomicBoolean keptAlive = new AtomicBoolean();
        // Fires once the exchange is complete (response written, or failed), whatever the handler returns or throws.
        Request.addCompletionListener(request, failure -> {
            if (keptAlive.compareAndSet(true, false)) {
                keepAliveResponseDone();
            }
            drain.requestFinished();
        });
        request.addHttpStreamWrapper(stream -> new HttpStream.Wrapper(stream) {
            @Override
            public void prepareResponse(HttpFields.Mutable headers) {
                super.prepareResponse(headers);
                // Counted before the decision is taken, and the drain reads the count only after it began and its
                // spread passed: either this response carries Connection: close, or the drain waits for it.
                if (keptAlive.compareAndSet(false, true)) {
                    keepAliveResponseStarted();
                }
                if (drain.closesConnection(request.getConnectionMetaData().getConnection())) {
                    headers.put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
                    if (keptAlive.compareAndSet(true, false)) {
                        keepAliveResponseDone();
                    }
                }
            }
        });
        return super.handle(request, response, callback);
    }

    private synchronized void keepAliveResponseStarted() {
        keepAliveResponses++;
    }

    private synchronized void keepAliveResponseDone() {
        if (--keepAliveResponses == 0) {
            notifyAll();
        }
    }

    /**
     * Waits until every response committed without {@code Connection: close} has been sent, or until
     * {@code deadlineNanos} (a {@link System#nanoTime()} value). Call once {@link Drain#awaitSpread()} returned, when no
     * new one can start. A connector shut down while such a response is still being written closes the connection right
     * after it (Jetty may not add the header any more, so it ends the connection instead), and the client, told to keep
     * it alive, loses the next request it sends on it.
     */
    synchronized void awaitKeepAliveResponses(long deadlineNanos) throws InterruptedException {
        for (long left = deadlineNanos - System.nanoTime(); keepAliveResponses > 0 && left > 0;
                left = deadlineNanos - System.nanoTime()) {
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }
}

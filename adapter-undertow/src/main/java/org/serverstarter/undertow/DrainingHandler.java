package org.serverstarter.undertow;

import io.undertow.protocols.http2.Http2Channel;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;

import org.serverstarter.adapters.internal.Drain;

/**
 * Wraps the application's root handler: counts exchanges in flight (and those of each HTTP/2 connection, for
 * {@link Http2Connections}), and once draining has begun makes HTTP/1 responses
 * that are not yet committed carry {@code Connection: close} (as {@link Drain#closesConnection} decides), so
 * keep-alive clients reconnect to the next generation instead of getting a 503 or a reset.
 *
 * <p>The close decision is taken in a response-commit listener rather than when the request arrives: a slow
 * request received before TERM commits its response after it, and must close its connection too. Undertow
 * calls commit listeners before it writes the status line, while it still reads {@code isPersistent()}.
 */
final class DrainingHandler implements HttpHandler {
    private final HttpHandler next;
    private final Drain drain;
    private final Http2Connections http2;

    DrainingHandler(HttpHandler next, Drain drain, Http2Connections http2) {
        this.next = next;
        this.drain = drain;
        this.http2 = http2;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        drain.requestStarted();
        Http2Channel h2 = http2.exchangeStarted(exchange);
        exchange.addExchangeCompleteListener((done, nextListener) -> {
            try {
                nextListener.proceed();
            } finally {
                drain.requestFinished();
                if (h2 != null) {
                    http2.exchangeFinished(h2);
                }
            }
        });
        if (h2 == null) {
            // HTTP/2 has no Connection header; its connections are ended by GOAWAY (Http2Connections).
            exchange.addResponseCommitListener(committing -> {
                if (drain.closesConnection(exchange.getConnection())) {
                    committing.setPersistent(false);
                }
            });
        }
        next.handleRequest(exchange);
    }
}

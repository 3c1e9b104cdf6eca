package org.serverstarter.undertow;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;

import org.serverstarter.adapters.internal.Drain;

/**
 * Wraps the application's root handler: counts exchanges in flight, and once draining has begun makes responses
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

    DrainingHandler(HttpHandler next, Drain drain) {
        this.next = next;
        this.drain = drain;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        drain.requestStarted();
        exchange.addExchangeCompleteListener((done, nextListener) -> {
            try {
                nextListener.proceed();
            } finally {
                drain.requestFinished();
            }
        });
        exchange.addResponseCommitListener(committing -> {
            if (drain.closesConnection(exchange.getConnection())) {
                committing.setPersistent(false);
            }
        });
        next.handleRequest(exchange);
    }
}

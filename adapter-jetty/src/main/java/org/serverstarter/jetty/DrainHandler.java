package org.serverstarter.jetty;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.serverstarter.adapters.Drain;

/**
 * Counts requests in flight and, while draining, marks every response {@code Connection: close} at the moment it is
 * committed, so a request that started before the drain but answers after it also sends its client elsewhere. Jetty's
 * {@code GracefulHandler} is not used because it answers 503 to requests on connections that are already open.
 */
final class DrainHandler extends Handler.Wrapper {
    private final Drain drain;

    DrainHandler(Drain drain, Handler handler) {
        super(handler);
        this.drain = drain;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        drain.requestStarted();
        // Fires once the exchange is complete (response written, or failed), whatever the handler returns or throws.
        Request.addCompletionListener(request, failure -> drain.requestFinished());
        request.addHttpStreamWrapper(stream -> new HttpStream.Wrapper(stream) {
            @Override
            public void prepareResponse(HttpFields.Mutable headers) {
                super.prepareResponse(headers);
                if (drain.isDraining()) {
                    headers.put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
                }
            }
        });
        return super.handle(request, response, callback);
    }
}

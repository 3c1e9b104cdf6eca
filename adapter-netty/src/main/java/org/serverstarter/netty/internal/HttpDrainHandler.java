package org.serverstarter.netty.internal;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import org.serverstarter.adapters.internal.Drain;

/**
 * Counts the HTTP requests of one connection in flight, and during a drain ends the connection after the response it is
 * writing when {@link Drain#closesConnection} says so. Waiting for the client to see {@code Connection: close} (rather
 * than closing idle keep-alive connections at once) is what keeps a client from sending a request into a connection
 * that is being closed. Runs on the connection's event loop only, so its fields need no locking.
 */
public final class HttpDrainHandler extends ChannelDuplexHandler {
    private final Drain drain;
    private int outstanding;
    private boolean inFinalResponse;
    private boolean closeAfterResponse;

    public HttpDrainHandler(Drain drain) {
        this.drain = drain;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest) {
            outstanding++;
            drain.requestStarted();
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpResponse) {
            HttpResponse response = (HttpResponse) msg;
            // 1xx responses (100 Continue) precede the real one and must not end the request.
            inFinalResponse = response.status().codeClass() != HttpStatusClass.INFORMATIONAL;
            if (inFinalResponse) {
                closeAfterResponse = drain.closesConnection(ctx.channel());
                if (closeAfterResponse) {
                    HttpUtil.setKeepAlive(response, false);
                }
            }
        }
        if (msg instanceof LastHttpContent && inFinalResponse) {
            inFinalResponse = false;
            boolean close = closeAfterResponse;
            promise = promise.unvoid();
            promise.addListener(f -> {
                finishOne();
                if (close) {
                    ctx.close();
                }
            });
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        // Requests whose response will never be written: the client left, or the app closed the connection.
        while (outstanding > 0) {
            finishOne();
        }
        ctx.fireChannelInactive();
    }

    private void finishOne() {
        if (outstanding > 0) {
            outstanding--;
            drain.requestFinished();
        }
    }
}

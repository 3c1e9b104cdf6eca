package org.serverstarter.reactor.netty;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * Asks for the next read of an HTTP/1.1 connection once each response has been written. Reactor Netty reads a
 * keep-alive connection on demand, and up to 1.3.7 it can stop asking (reactor-netty#4347): when a request arrives
 * before the previous exchange has ended, is queued, and is then answered at once, the connection is never read again,
 * and the client's next request waits, unanswered, until the connection is closed. Asking once more after a response
 * is what Reactor Netty does itself when it does not stall; the read goes through the whole pipeline, so Reactor
 * Netty's own limit on queued requests still applies.
 */
final class ReadAfterResponse extends ChannelOutboundHandlerAdapter {
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof LastHttpContent) {
            promise = promise.unvoid();
            promise.addListener(written -> {
                if (written.isSuccess()) {
                    // After the task that wrote the response, which is where Reactor Netty's queue handling stalls.
                    ctx.executor().execute(() -> ctx.channel().read());
                }
            });
        }
        ctx.write(msg, promise);
    }
}

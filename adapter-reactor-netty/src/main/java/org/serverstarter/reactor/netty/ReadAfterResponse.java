package org.serverstarter.reactor.netty;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * Asks for the next read of an HTTP/1.1 connection once every request it has sent is answered. Reactor Netty reads a
 * keep-alive connection on demand, and up to 1.3.7 it can stop asking (reactor-netty#4347): when a request arrives
 * before the previous exchange has ended, is queued, and is then answered at once, the connection is never read again,
 * and the client's next request waits, unanswered, until the connection is closed. With a request still unanswered,
 * Reactor Netty asks for the read itself once that one is, so this asks only when none is: a client that sends
 * requests faster than they are answered is still read no faster than before. The read goes through the whole
 * pipeline, so Reactor Netty's own limit on queued requests applies too. Runs on the connection's event loop only.
 */
final class ReadAfterResponse extends ChannelDuplexHandler {
    private int unanswered;
    private boolean inFinalResponse;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest) {
            unanswered++;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpResponse response) {
            // 1xx responses (100 Continue) precede the real one.
            inFinalResponse = response.status().codeClass() != HttpStatusClass.INFORMATIONAL;
        }
        if (msg instanceof LastHttpContent && inFinalResponse) {
            inFinalResponse = false;
            promise = promise.unvoid();
            promise.addListener(written -> {
                if (unanswered > 0) {
                    unanswered--;
                }
                if (written.isSuccess() && unanswered == 0) {
                    // After the task that wrote the response, which is where Reactor Netty's queue handling stalls.
                    ctx.executor().execute(() -> ctx.channel().read());
                }
            });
        }
        ctx.write(msg, promise);
    }
}

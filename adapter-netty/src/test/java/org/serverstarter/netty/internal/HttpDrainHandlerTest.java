package org.serverstarter.netty.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.serverstarter.adapters.internal.Drain;

class HttpDrainHandlerTest {
    private final Drain drain = new Drain();
    private final EmbeddedChannel connection = new EmbeddedChannel(new HttpDrainHandler(drain));

    @AfterEach
    void close() {
        connection.finishAndReleaseAll();
    }

    @Test
    void aRequestIsInFlightUntilItsResponseIsWritten() {
        connection.writeInbound(request());
        assertEquals(1, drain.inFlight());

        connection.writeOutbound(response(HttpResponseStatus.OK));
        assertEquals(0, drain.inFlight());
        HttpResponse written = connection.readOutbound();
        assertNull(written.headers().get(HttpHeaderNames.CONNECTION));
        assertTrue(connection.isOpen());
    }

    @Test
    void whileDrainingAResponseSaysCloseAndEndsItsConnection() {
        connection.writeInbound(request());
        drain.begin();

        connection.writeOutbound(response(HttpResponseStatus.OK));
        HttpResponse written = connection.readOutbound();
        assertEquals("close", written.headers().get(HttpHeaderNames.CONNECTION));
        assertFalse(connection.isOpen());
        assertEquals(0, drain.inFlight());
    }

    @Test
    void aStreamedResponseFinishesWithItsLastContent() {
        connection.writeInbound(request());
        drain.begin();

        connection.writeOutbound(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
        connection.writeOutbound(new DefaultHttpContent(Unpooled.copiedBuffer(new byte[] {'x'})));
        assertEquals(1, drain.inFlight());
        assertTrue(connection.isOpen());

        connection.writeOutbound(LastHttpContent.EMPTY_LAST_CONTENT);
        assertEquals(0, drain.inFlight());
        assertFalse(connection.isOpen());
    }

    @Test
    void aContinueIsNotTheAnswer() {
        connection.writeInbound(request());
        drain.begin();

        connection.writeOutbound(response(HttpResponseStatus.CONTINUE));
        assertEquals(1, drain.inFlight());
        assertTrue(connection.isOpen());

        connection.writeOutbound(response(HttpResponseStatus.OK));
        assertEquals(0, drain.inFlight());
    }

    @Test
    void aConnectionThatClosesUnansweredFinishesItsRequests() {
        connection.writeInbound(request());
        connection.writeInbound(request());
        assertEquals(2, drain.inFlight());

        connection.close();
        assertEquals(0, drain.inFlight());
    }

    private static DefaultFullHttpRequest request() {
        return new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
    }

    private static DefaultFullHttpResponse response(HttpResponseStatus status) {
        return new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status);
    }
}

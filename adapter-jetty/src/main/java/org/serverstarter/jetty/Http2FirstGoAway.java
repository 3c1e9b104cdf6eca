package org.serverstarter.jetty;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http2.HTTP2Session;
import org.eclipse.jetty.http2.SessionContainer;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.frames.Frame;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.http2.frames.PingFrame;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.util.Callback;

/**
 * The first step of the HTTP/2 drain, with the round trip Jetty leaves out. Jetty's graceful shutdown of a session
 * sends GOAWAY naming the highest stream id and then, as soon as the session has no stream left, the final GOAWAY
 * naming the last stream it took. A client busy on that connection may have written new streams before the first
 * GOAWAY reached it; arriving after the final one, they are refused unanswered. RFC 9113, section 6.8, has the server
 * wait a round trip between the two: here each session gets the first GOAWAY and a PING, and Jetty's shutdown (which
 * repeats the first GOAWAY, as the RFC allows) starts only once the PING's answer is back, when every stream the client
 * wrote before the GOAWAY has arrived.
 *
 * <p>After its final GOAWAY, Jetty keeps the connection open until the client closes it or its idle timeout passes,
 * as the RFC allows; a client that stays connected and idle would hold the old generation for as long. Here the
 * connection is closed {@link #CLOSE_AFTER_FINAL_GOAWAY} after that frame, as the Netty adapter does: by then no
 * stream is open and every answer is written.
 *
 * <p>Only loaded when Jetty's HTTP/2 classes are on the class path (see {@code JettyServerStarter.HTTP2}): linking
 * this class loads them.
 */
final class Http2FirstGoAway {
    /** How long a client may take to answer the PING; one that takes longer is slow enough to be broken. */
    private static final long MAX_ROUND_TRIP = TimeUnit.SECONDS.toNanos(5);
    /** Time for the final GOAWAY to reach the client before the connection closes under it. */
    private static final long CLOSE_AFTER_FINAL_GOAWAY = TimeUnit.SECONDS.toMillis(1);

    private Http2FirstGoAway() {
    }

    /**
     * Sends every HTTP/2 session of {@code connectors} the first GOAWAY and a PING, and shuts each session down when
     * its PING is answered. Returns once all are answered or closed by their clients, or at {@code deadline}
     * ({@link System#nanoTime()}) or after {@link #MAX_ROUND_TRIP}, whichever comes first: a session whose client has
     * not answered by then is left to Jetty's own shutdown.
     */
    static void send(List<Connector> connectors, long deadline) throws InterruptedException {
        List<CompletableFuture<Void>> answered = new ArrayList<>();
        for (Connector connector : connectors) {
            for (SessionContainer container : connector.getContainedBeans(SessionContainer.class)) {
                for (Session session : container.getSessions()) {
                    if (session instanceof HTTP2Session http2) {
                        answered.add(goAwayThenShutdownOnPong(http2, connector));
                    }
                }
            }
        }
        try {
            CompletableFuture.allOf(answered.toArray(CompletableFuture[]::new))
                    .get(Math.max(0, Math.min(MAX_ROUND_TRIP, deadline - System.nanoTime())), TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // Jetty's shutdown, which follows, takes the sessions left, at once: streams their clients are writing
            // now may be refused. Said, because a client that does not answer a PING in time is rare enough to matter.
            long late = answered.stream().filter(f -> !f.isDone()).count();
            System.err.println("JettyServerStarter: " + late + " of " + answered.size() + " HTTP/2 connection(s) did "
                    + "not answer the drain's PING in time; they get Jetty's GOAWAY without the round trip");
        }
    }

    /**
     * Sends the first GOAWAY and a PING; the future completes when the PING is answered, cannot be sent, or the
     * client closes the connection (it answers no PING then, and leaves nothing to wait for).
     */
    private static CompletableFuture<Void> goAwayThenShutdownOnPong(HTTP2Session session, Connector connector) {
        long payload = ThreadLocalRandom.current().nextLong();
        CompletableFuture<Void> answered = new CompletableFuture<>();
        session.addEventListener(new SessionWatch(session, connector, payload, answered));
        // Not on the thread that read the PING's answer: Jetty's frame listeners must not act on the session.
        answered.thenRunAsync(session::shutdown, connector.getExecutor());
        Callback broken = Callback.from(() -> { }, failure -> answered.complete(null));
        // Written as a plain frame, leaving the session's state alone: it keeps taking new streams until its shutdown.
        // The PING goes after it, as Jetty sends a PING ahead of the frames already queued.
        session.frames(null, List.of(GoAwayFrame.GRACEFUL), Callback.from(
                () -> session.ping(new PingFrame(payload, false), broken), failure -> answered.complete(null)));
        return answered;
    }

    /** Jetty's events for one session in the drain: the PING's answer, the final GOAWAY, the close. */
    private static final class SessionWatch implements HTTP2Session.FrameListener, HTTP2Session.LifeCycleListener {
        private final HTTP2Session session;
        private final Connector connector;
        private final long payload;
        private final CompletableFuture<Void> answered;

        SessionWatch(HTTP2Session session, Connector connector, long payload, CompletableFuture<Void> answered) {
            this.session = session;
            this.connector = connector;
            this.payload = payload;
            this.answered = answered;
        }

        @Override
        public void onIncomingFrame(Session s, Frame frame) {
            if (frame instanceof PingFrame ping && ping.isReply() && ping.getPayloadAsLong() == payload) {
                answered.complete(null);
            }
        }

        @Override
        public void onOutgoingFrame(Session s, Frame frame) {
            if (frame instanceof GoAwayFrame goAway && !goAway.isGraceful()) {
                connector.getScheduler().schedule(() -> session.getEndPoint().close(), CLOSE_AFTER_FINAL_GOAWAY,
                        TimeUnit.MILLISECONDS);
            }
        }

        @Override
        public void onClose(Session s) {
            answered.complete(null);
        }
    }
}

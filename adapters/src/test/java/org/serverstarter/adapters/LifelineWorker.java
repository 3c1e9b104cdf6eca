package org.serverstarter.adapters;

import org.serverstarter.adapters.internal.Drain;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A plain-Java worker that watches its lifeline as the README tells one to: it serves its first inherited socket, one
 * request per connection, and drains in a shutdown hook. {@code GET /sleep?ms=N} prints {@code sleep started} and
 * answers after N ms; any other path answers at once. It calls {@link ServerStarter#watchLifeline()} twice, as two
 * adapters in one JVM would, and prints what came of it.
 */
public final class LifelineWorker {
    private static final Pattern SLEEP = Pattern.compile("^GET /sleep\\?ms=(\\d+) ");

    private LifelineWorker() {}

    public static void main(String[] args) throws IOException {
        ServerSocketChannel channel = ServerStarter.fromEnvironment().sockets().get(0).openServerChannel();
        Drain drain = new Drain();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            drain.begin();
            // As the framework adapters do when their drain begins.
            Readiness.notifyStopping();
            try {
                channel.close();
                boolean idle = drain.awaitIdle(Duration.ofSeconds(20));
                System.out.println("worker drained idle=" + idle);
            } catch (IOException | InterruptedException e) {
                System.out.println("worker drain failed: " + e);
            }
        }, "drain"));
        boolean watching = ServerStarter.watchLifeline();
        ServerStarter.watchLifeline();
        long watchers = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("server-starter-lifeline")).count();
        System.out.println("worker serving watching=" + watching + " watchers=" + watchers);
        try {
            while (true) {
                SocketChannel connection = channel.accept();
                drain.requestStarted();
                new Thread(() -> answer(connection, drain), "answer").start();
            }
        } catch (ClosedChannelException e) {
            // The drain closed the channel.
        }
    }

    private static void answer(SocketChannel connection, Drain drain) {
        try (connection) {
            ByteBuffer in = ByteBuffer.allocate(4096);
            String request = "";
            while (!request.contains("\r\n\r\n") && connection.read(in) > 0) {
                request = new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1);
            }
            String body = "pid=" + ProcessHandle.current().pid() + "\n";
            Matcher sleep = SLEEP.matcher(request);
            if (sleep.find()) {
                System.out.println("sleep started");
                Thread.sleep(Long.parseLong(sleep.group(1)));
                body = "slept " + sleep.group(1) + " ms " + body;
            }
            String response = "HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\nConnection: close\r\n\r\n"
                    + body;
            ByteBuffer out = ByteBuffer.wrap(response.getBytes(StandardCharsets.US_ASCII));
            while (out.hasRemaining()) {
                connection.write(out);
            }
        } catch (IOException | InterruptedException e) {
            System.out.println("worker answer failed: " + e);
        } finally {
            drain.requestFinished();
        }
    }
}

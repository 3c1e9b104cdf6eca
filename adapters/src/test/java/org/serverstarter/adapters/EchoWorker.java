package org.serverstarter.adapters;

import org.serverstarter.adapters.internal.Drain;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A worker for the integration tests: adopts every inherited socket and answers each connection with a minimal HTTP
 * 200 naming its generation, pid and socket key, written with plain NIO. On TERM it stops accepting and finishes the
 * connections it has.
 *
 * <p>Arguments: {@code blocking} (blocking accept), {@code selector} (non-blocking accept through a Selector, which sets
 * O_NONBLOCK on the socket every generation shares) or {@code alternate} (odd generations use a selector, even ones
 * block, so a restart hands a non-blocking socket to a blocking generation); optionally {@code --retire-when=FILE
 * --status-file=FILE}: once {@code FILE-GENERATION} exists, TERM older generations through {@link SlowStart}.
 */
public final class EchoWorker {
    private final long generation = ServerStarter.fromEnvironment().generation();
    private final Drain drain = new Drain();
    private final List<ServerSocketChannel> channels = new ArrayList<>();
    private final List<Thread> acceptors = new ArrayList<>();
    private volatile boolean stopping;

    public static void main(String[] args) throws Exception {
        try {
            new EchoWorker().run(args);
        } catch (StarterException e) {
            System.err.println("worker: " + e.getMessage());
            System.exit(3);
        }
    }

    private void run(String[] args) throws Exception {
        String mode = args[0];
        boolean useSelector = mode.equals("selector") || mode.equals("alternate") && generation % 2 == 1;
        for (InheritedSocket socket : ServerStarter.fromEnvironment().sockets()) {
            ServerSocketChannel ch = socket.openServerChannel();
            channels.add(ch);
            Thread t = new Thread(() -> acceptLoop(ch, socket.key(), useSelector), "accept " + socket.key());
            acceptors.add(t);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(this::stop));
        acceptors.forEach(Thread::start);
        System.out.println("worker ready gen=" + generation + " pid=" + ProcessHandle.current().pid()
                + " mode=" + (useSelector ? "selector" : "blocking"));
        Path retireWhen = option(args, "--retire-when=");
        if (retireWhen != null) {
            // One file per generation, so that a test decides the order in which generations act.
            retireWhen = Path.of(retireWhen + "-" + generation);
            while (!Files.exists(retireWhen)) {
                Thread.sleep(20);
            }
            List<Long> pids = SlowStart.retireOlderGenerations(option(args, "--status-file="), generation, "TERM");
            System.out.println("worker gen=" + generation + " retired " + pids);
        }
    }

    private static Path option(String[] args, String prefix) {
        for (String a : args) {
            if (a.startsWith(prefix)) {
                return Path.of(a.substring(prefix.length()));
            }
        }
        return null;
    }

    private void acceptLoop(ServerSocketChannel ch, String key, boolean useSelector) {
        try (Selector selector = useSelector ? Selector.open() : null) {
            if (useSelector) {
                ch.configureBlocking(false);
                ch.register(selector, SelectionKey.OP_ACCEPT);
            }
            while (!stopping) {
                if (useSelector) {
                    selector.select(100);
                    selector.selectedKeys().clear();
                }
                // Non-blocking: null when another generation took the connection first.
                SocketChannel c = ch.accept();
                if (c != null) {
                    drain.requestStarted();
                    new Thread(() -> answer(c, key), "answer").start();
                }
            }
        } catch (ClosedChannelException e) {
            // stop() closed the channel under a blocking accept
        } catch (IOException e) {
            if (!stopping) {
                e.printStackTrace();
            }
        }
    }

    private void answer(SocketChannel c, String key) {
        try (c) {
            c.configureBlocking(true);
            ByteBuffer in = ByteBuffer.allocate(4096);
            String request = "";
            while (!request.contains("\r\n\r\n") && c.read(in) > 0) {
                request = new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1);
            }
            String body = "gen=" + generation + " pid=" + ProcessHandle.current().pid() + " key=" + key + "\n";
            String response = "HTTP/1.1 200 OK\r\nContent-Length: " + body.length()
                    + "\r\nConnection: close\r\n\r\n" + body;
            ByteBuffer out = ByteBuffer.wrap(response.getBytes(StandardCharsets.US_ASCII));
            while (out.hasRemaining()) {
                c.write(out);
            }
        } catch (IOException e) {
            e.printStackTrace();
        } finally {
            drain.requestFinished();
        }
    }

    /** Closes only this process's fds: the shared socket keeps listening for the superdaemon's other generations. */
    private void stop() {
        stopping = true;
        drain.begin();
        for (ServerSocketChannel ch : channels) {
            try {
                ch.close();
            } catch (IOException e) {
                e.printStackTrace();
            }
        }
        try {
            for (Thread t : acceptors) {
                t.join(5_000);
            }
            drain.awaitIdle(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.out.println("worker stopping gen=" + generation);
    }
}

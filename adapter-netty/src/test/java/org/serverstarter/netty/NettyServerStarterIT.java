package org.serverstarter.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.epoll.Epoll;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.netty.NettyServerStarter.Transport;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * {@link HelloServer} on {@link NettyServerStarter} under a real superdaemon, for what only the Netty adapter has (what
 * every adapter must do is in {@link NettyContractIT}): the epoll transport on the blocking sockets the superdaemons
 * hand down, and NIO without the JVM flag it needs.
 */
class NettyServerStarterIT {
    private static final Duration START = Duration.ofSeconds(45);
    private static final int O_NONBLOCK = 04000;
    private static final Pattern IDENTITY = Pattern.compile("gen=(\\d+) pid=\\d+");

    @TempDir
    Path dir;

    /** One run's superdaemon, worker transport and worker JDK. */
    record Case(Superdaemon superdaemon, Transport transport, Path jdk) {
        @Override
        public String toString() {
            return superdaemon + " " + transport + " " + jdk.getFileName();
        }
    }

    private static List<Superdaemon> superdaemons() {
        List<Superdaemon> daemons = Superdaemon.available().toList();
        if (daemons.isEmpty()) {
            throw new IllegalStateException("no superdaemon: neither /usr/bin/start_server nor bin/start_server");
        }
        return daemons;
    }

    /**
     * The superdaemons hand down blocking sockets, and Netty's epoll transport accepts until the socket has nothing
     * left. On a blocking socket that last {@code accept()} would wait for the next connection, and the event loop
     * thread running it would serve nothing meanwhile; with two generations on the socket (the old one kept by
     * {@code --signal-on-hup=CONT}) both are woken for each connection and the one that loses the race would wait
     * the same way. So: keep-alive connections are opened one by one, each must be answered, and each must still be
     * answered after the later ones arrived, with one generation and then with two.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("epollOnEachSuperdaemon")
    @Timeout(180)
    void keepAliveConnectionsStayServedWhileNewOnesArrive(Case c) throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        try (StarterProcess sd = start(c, List.of("--port=127.0.0.1:" + address.getPort(), "--signal-on-hup=CONT",
                "--status-file=" + status))) {
            List<HttpConnection> kept = new ArrayList<>();
            try {
                awaitGeneration(1, address);
                openEachAndAskAll(kept, address, 4);

                sd.signal("HUP");
                StatusFile.awaitGenerations(status, gens -> gens.keySet().equals(Set.of(1L, 2L)), START);
                awaitGeneration(2, address);
                openEachAndAskAll(kept, address, 24);
                // What the README promises, and what makes the above work: the shared socket is non-blocking now.
                for (long pid : StatusFile.read(status).values()) {
                    assertTrue(isNonBlocking(pid, address), "worker " + pid + " accepts on a blocking socket");
                }
            } finally {
                // Before the superdaemon's TERM, so that the drains need not wait for these connections.
                for (HttpConnection connection : kept) {
                    connection.close();
                }
            }
        }
    }

    static Stream<Case> epollOnEachSuperdaemon() {
        assumeTrue(Epoll.isAvailable(), "no epoll here: " + Epoll.unavailabilityCause());
        List<Superdaemon> daemons = superdaemons();
        List<Path> jdks = ChildJava.jdks();
        List<Case> cases = new ArrayList<>();
        for (int d = 0; d < daemons.size(); d++) {
            cases.add(new Case(daemons.get(d), Transport.EPOLL, jdks.get(d % jdks.size())));
        }
        return cases.stream();
    }

    /**
     * Opens {@code count} keep-alive connections one at a time; after each, asks every kept connection once. Every
     * new connection is a race between the generations' accept calls, and a loser stuck in a blocking accept shows as
     * a kept connection on its event loop that gets no answer ({@link HttpConnection}'s read deadline).
     */
    private static void openEachAndAskAll(List<HttpConnection> kept, InetSocketAddress address, int count)
            throws IOException {
        for (int i = 0; i < count; i++) {
            kept.add(HttpConnection.open(address));
            for (int k = kept.size() - 1; k >= 0; k--) {
                ask(kept, k, "after connection " + (kept.size() - 1) + " opened");
            }
        }
    }

    /** Whether the socket {@code pid} inherited for {@code address} has {@code O_NONBLOCK}, as the kernel says. */
    private static boolean isNonBlocking(long pid, InetSocketAddress address) throws IOException {
        String entry = "SERVER_STARTER_PORT=127.0.0.1:" + address.getPort() + "=";
        String fd = Stream.of(Files.readString(Path.of("/proc/" + pid + "/environ"), StandardCharsets.ISO_8859_1).split("\0"))
                .filter(variable -> variable.startsWith(entry)).map(variable -> variable.substring(entry.length()))
                .findFirst().orElseThrow(() -> new AssertionError("worker " + pid + " has no " + entry));
        Matcher flags = Pattern.compile("^flags:\\s+([0-7]+)$", Pattern.MULTILINE)
                .matcher(Files.readString(Path.of("/proc/" + pid + "/fdinfo/" + fd)));
        assertTrue(flags.find(), "no flags for fd " + fd + " of worker " + pid);
        return (Integer.parseInt(flags.group(1), 8) & O_NONBLOCK) != 0;
    }

    private static void ask(List<HttpConnection> kept, int index, String when) {
        HttpResponse r;
        try {
            r = kept.get(index).get("/");
        } catch (IOException e) {
            throw new AssertionError("keep-alive connection " + index + " of " + kept.size() + ", " + when
                    + ", got no answer: " + e, e);
        }
        assertEquals(200, r.status(), r.body());
        assertFalse(kept.get(index).isClosedByServer(), "connection " + index + " closed by the server: " + r);
    }

    @Test
    @Timeout(120)
    void nioWithoutTheJvmFlagSaysWhichFlagIsMissing() {
        Case c = new Case(superdaemons().get(0), Transport.NIO, ChildJava.jdks().get(0));
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + Ports.freeTcpPort(), "--"));
        args.addAll(worker(c));
        assertTrue(args.remove(ChildJava.ADD_OPENS));
        try (StarterProcess sd = StarterProcess.start(c.superdaemon(), args, Map.of(), dir)) {
            sd.awaitOutput("HelloServer: SERVER_STARTER_PORT entry .*--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", START);
        }
    }

    private StarterProcess start(Case c, List<String> listenOptions) {
        List<String> args = new ArrayList<>(listenOptions);
        args.add("--");
        args.addAll(worker(c));
        return StarterProcess.start(c.superdaemon(), args, Map.of(), dir);
    }

    private static List<String> worker(Case c) {
        List<String> argv = new ArrayList<>(ChildJava.command(c.jdk(), HelloServer.class, c.transport().name()));
        // JDK 24+ warns when Netty loads its native library; JDK 17 accepts the flag too.
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        if (c.transport() == Transport.EPOLL) {
            // The README promises that epoll needs no --add-opens; every epoll case runs without it.
            assertTrue(argv.remove(ChildJava.ADD_OPENS));
        }
        return argv;
    }

    /** Waits until the worker of {@code generation} answers on {@code address}, and returns that answer. */
    private static HttpResponse awaitGeneration(long generation, InetSocketAddress address) {
        HttpResponse[] answer = new HttpResponse[1];
        Await.until("generation " + generation + " answering on " + address, START, () -> {
            try {
                answer[0] = HttpClient.get(address, "/");
                return answer[0].status() == 200 && generation(answer[0]) == generation;
            } catch (RuntimeException e) {
                return false;
            }
        });
        return answer[0];
    }

    private static long generation(HttpResponse response) {
        return Long.parseLong(identity(response).group(1));
    }

    private static Matcher identity(HttpResponse response) {
        Matcher m = IDENTITY.matcher(response.body());
        assertTrue(m.find(), "no gen=/pid= in " + response);
        return m;
    }
}

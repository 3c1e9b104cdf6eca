package org.serverstarter.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.epoll.Epoll;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.netty.NettyListener.Transport;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.RestartLoad;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * Hot restarts of {@link HelloServer} under load lose no request. Besides clients that send back to back, the load has
 * keep-alive clients that pause between requests and clients that connect first and send later: a drain that closes
 * a connection the client has not closed itself (after a {@code Connection: close} answer) can close it under a
 * request the client is sending, and the client sees the connection close without a response. The first superdaemon
 * runs the epoll transport (when this machine has it), the other NIO.
 */
class NettyRestartLoadIT {
    private static final Duration WAIT = Duration.ofSeconds(40);
    private static final int RESTARTS = 3;

    @TempDir
    Path dir;

    static Stream<Arguments> superdaemonAndTransport() {
        List<Superdaemon> superdaemons = Superdaemon.available().toList();
        List<Arguments> cases = new ArrayList<>();
        for (int i = 0; i < superdaemons.size(); i++) {
            Transport transport = i == 0 && Epoll.isAvailable() ? Transport.EPOLL : Transport.NIO;
            cases.add(Arguments.of(superdaemons.get(i), transport));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("superdaemonAndTransport")
    @Timeout(150)
    void hotRestartsUnderLoadLoseNoRequest(Superdaemon superdaemon, Transport transport) throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        Path status = dir.resolve("status");
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(),
                "--status-file=" + status, "--interval=1", "--"));
        args.addAll(worker(transport));

        try (StarterProcess starter = StarterProcess.start(superdaemon, args, Map.of(), dir)) {
            long pid = StatusFile.awaitGenerations(status, g -> g.containsKey(1L), WAIT).get(1L);
            starter.awaitOutput("HelloServer serving " + transport + " gen=1 ", WAIT);
            List<Long> pids = new ArrayList<>(List.of(pid));
            try (RestartLoad load = new RestartLoad(address, List.of(0, 0, 20, 400, 1200, 2500), List.of(300, 1500))) {
                for (long gen = 2; gen <= RESTARTS + 1; gen++) {
                    long previous = pid;
                    Await.until("answers from generation " + (gen - 1) + " before the restart", WAIT,
                            () -> load.answersFrom(previous) >= 20);
                    starter.signal("HUP");
                    long next = gen;
                    pid = StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(next)), WAIT).get(next);
                    pids.add(pid);
                }
                long last = pid;
                Await.until("answers from the last generation", WAIT, () -> load.answersFrom(last) >= 20);
                load.close();
                String summary = "answers " + load.answersByBody + ", Connection: close answers "
                        + load.closesByBody;
                assertEquals(List.of(), load.failures, summary + "; output:\n" + starter.output());
                for (long retired : pids.subList(0, RESTARTS)) {
                    assertTrue(load.closesFrom(retired) > 0, "the load reached generation pid " + retired
                            + " while it drained; " + summary);
                }
            }
        }
    }

    /** HelloServer's argv as NettyListenerIT runs it: epoll needs no {@code --add-opens}. */
    private static List<String> worker(Transport transport) {
        List<String> argv = new ArrayList<>(ChildJava.command(HelloServer.class, transport.name()));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        if (transport == Transport.EPOLL) {
            argv.remove(ChildJava.ADD_OPENS);
        }
        return argv;
    }
}

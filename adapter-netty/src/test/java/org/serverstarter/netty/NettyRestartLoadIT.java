package org.serverstarter.netty;

import io.netty.channel.epoll.Epoll;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.netty.NettyServerStarter.Transport;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.RestartsUnderLoad;
import org.serverstarter.testkit.Superdaemon;

/**
 * Hot restarts of {@link HelloServer} under load lose no request. Besides clients that send back to back, the load has
 * keep-alive clients that pause between requests and clients that connect first and send later: a drain that closes
 * a connection the client has not closed itself (after a {@code Connection: close} answer) can close it under a
 * request the client is sending, and the client sees the connection close without a response. The first superdaemon
 * runs the epoll transport (when this machine has it), the other NIO.
 */
class NettyRestartLoadIT {
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
        RestartsUnderLoad.run(superdaemon, worker(transport), pid -> "HelloServer serving " + transport + " gen=1 ",
                dir);
    }

    /** HelloServer's argv as NettyServerStarterIT runs it: epoll needs no {@code --add-opens}. */
    private static List<String> worker(Transport transport) {
        List<String> argv = new ArrayList<>(ChildJava.command(HelloServer.class, transport.name()));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        if (transport == Transport.EPOLL) {
            argv.remove(ChildJava.ADD_OPENS);
        }
        return argv;
    }
}

package org.serverstarter.netty;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.serverstarter.adapters.ReadinessContract;
import org.serverstarter.netty.NettyServerStarter.Transport;
import org.serverstarter.testkit.ChildJava;

/** The readiness contract for a Netty worker on each transport, and a worker whose {@code register} fails. */
class NettyReadinessIT extends ReadinessContract {
    /** Each JDK once, each address form once, each transport once (NIO only where it is the fallback). */
    static Stream<Case> cases() {
        List<Path> jdks = ChildJava.jdks();
        Path first = jdks.get(0);
        Path last = jdks.get(jdks.size() - 1);
        Transport preferred = NettyServerStarter.transport();
        return Stream.of(
                new Case(first + ", path socket, " + preferred, NotifyAddress.PATH, worker(first, preferred)),
                new Case(last + ", abstract socket, " + Transport.NIO, NotifyAddress.ABSTRACT,
                        worker(last, Transport.NIO)));
    }

    /** A worker whose {@code register} fails (fd 7 is a file, not a socket) sends nothing. */
    @Test
    @Timeout(60)
    void noReadyWhenRegisterFails() throws Exception {
        assertSilentWhenFd7IsNotASocket(worker(ChildJava.jdks().get(0), NettyServerStarter.transport()));
    }

    private static List<String> worker(Path jdk, Transport transport) {
        List<String> argv = new ArrayList<>(ChildJava.command(jdk, HelloServer.class, transport.name()));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        return argv;
    }
}

package org.serverstarter.netty;

import java.nio.file.Path;
import java.util.List;
import org.serverstarter.testkit.AdapterContract;
import org.serverstarter.netty.NettyServerStarter.Transport;
import org.serverstarter.testkit.ChildJava;

/**
 * The adapter contract for a Netty worker: the first run of each case on the transport Netty picks here (epoll, where
 * its native library loads), the second on NIO, so each transport meets a superdaemon and a JDK of its own.
 */
class NettyContractIT extends AdapterContract {
    @Override
    protected List<String> worker(Path jdk, int run) {
        Transport transport = run % 2 == 0 ? NettyServerStarter.transport() : Transport.NIO;
        List<String> argv = java(jdk, HelloServer.class, transport.name());
        if (transport == Transport.EPOLL) {
            // The README promises that epoll needs no --add-opens; every epoll run goes without it.
            argv.remove(ChildJava.ADD_OPENS);
        }
        return argv;
    }
}

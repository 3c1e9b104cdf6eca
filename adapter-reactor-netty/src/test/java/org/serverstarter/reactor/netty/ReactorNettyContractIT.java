package org.serverstarter.reactor.netty;

import io.netty.channel.epoll.Epoll;
import java.nio.file.Path;
import java.util.List;
import org.serverstarter.testkit.AdapterContract;
import org.serverstarter.testkit.ChildJava;

/**
 * The adapter contract for a Reactor Netty worker: the first run of each case on the transport Reactor Netty prefers
 * here (epoll, where Netty's native library loads), the second on NIO, so each transport meets a superdaemon and a JDK
 * of its own.
 */
class ReactorNettyContractIT extends AdapterContract {
    @Override
    protected List<String> worker(Path jdk, int run) {
        boolean nativeTransport = run % 2 == 0;
        List<String> argv = java(jdk, ReactorNettyWorker.class, nativeTransport ? "NATIVE" : "NIO");
        if (nativeTransport && Epoll.isAvailable()) {
            // The README promises that epoll needs no --add-opens; every epoll run goes without it.
            argv.remove(ChildJava.ADD_OPENS);
        }
        return argv;
    }
}

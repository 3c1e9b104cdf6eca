package org.serverstarter.undertow;

import java.nio.file.Path;
import java.util.List;
import org.serverstarter.testkit.AdapterContract;

/** The adapter contract for an Undertow worker, on TCP sockets only. */
class UndertowContractIT extends AdapterContract {
    @Override
    protected List<String> worker(Path jdk, int run) {
        return java(jdk, UndertowWorker.class);
    }

    /**
     * XNIO's NIO transport has no unix-socket server, and its TCP acceptor calls {@code socket()}, which a JDK
     * unix-domain channel refuses; so the adapter refuses unix socket entries in one line (see the README).
     */
    @Override
    protected boolean servesUnixSockets() {
        return false;
    }
}

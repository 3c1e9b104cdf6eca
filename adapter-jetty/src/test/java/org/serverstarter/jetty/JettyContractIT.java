package org.serverstarter.jetty;

import java.nio.file.Path;
import java.util.List;
import org.serverstarter.testkit.AdapterContract;

/** The adapter contract for a Jetty worker: TCP and unix sockets alike. */
class JettyContractIT extends AdapterContract {
    @Override
    protected List<String> worker(Path jdk, int run) {
        return java(jdk, JettyWorker.class);
    }
}

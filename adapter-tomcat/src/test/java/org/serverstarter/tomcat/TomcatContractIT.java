package org.serverstarter.tomcat;

import java.nio.file.Path;
import java.util.List;
import org.serverstarter.testkit.AdapterContract;

/** The adapter contract for a Tomcat worker: TCP and unix sockets alike, so every case applies. */
class TomcatContractIT extends AdapterContract {
    @Override
    protected List<String> worker(Path jdk, int run) {
        return java(jdk, TomcatWorker.class);
    }
}

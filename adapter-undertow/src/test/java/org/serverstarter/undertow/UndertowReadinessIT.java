package org.serverstarter.undertow;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.serverstarter.adapters.ReadinessContract;
import org.serverstarter.testkit.ChildJava;

/** The readiness contract for an Undertow worker, and a worker whose {@code listen} fails. */
class UndertowReadinessIT extends ReadinessContract {
    /** The other way round from the Jetty adapter's test, so that both pairings run. */
    static Stream<Case> cases() {
        return Case.eachJdkAndAddressOnce(NotifyAddress.ABSTRACT, UndertowReadinessIT::worker);
    }

    @Override
    protected String body(int generation, long pid) {
        return "pid=" + pid;
    }

    /** A worker whose {@code listen} fails (fd 7 is a file, not a socket) sends nothing. */
    @Test
    @Timeout(60)
    void noReadyWhenListenFails() throws Exception {
        assertSilentWhenFd7IsNotASocket(worker(ChildJava.jdks().get(0)));
    }

    private static List<String> worker(Path jdk) {
        List<String> argv = new ArrayList<>(ChildJava.command(jdk, UndertowWorker.class));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        return argv;
    }
}

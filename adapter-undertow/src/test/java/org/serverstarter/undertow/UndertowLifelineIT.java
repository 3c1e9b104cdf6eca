package org.serverstarter.undertow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.adapters.LifelineLauncher;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;

/**
 * {@link UndertowWorker} started with a lifeline by {@link LifelineLauncher}: {@link UndertowServerStarter#listen} watches
 * it without the app asking, so once the superdaemon is gone the app's shutdown hook drains through
 * {@link UndertowServerStarter#drainOnShutdown} and the worker exits with 143, as on TERM.
 */
class UndertowLifelineIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    @Timeout(90)
    void closedLifelineDrainsTheRequestInFlightAndExitsAsOnTerm() throws Exception {
        List<String> argv = new ArrayList<>(ChildJava.command(UndertowWorker.class));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        try (LifelineLauncher launcher = LifelineLauncher.start(LifelineLauncher.Variable.PIPE, argv, dir)) {
            long pid = launcher.worker().pid();
            launcher.awaitOutput("^worker " + pid + " serving ", WAIT);
            try (HttpConnection slow = HttpConnection.open(launcher.address())) {
                slow.send("/slow?ms=1500");
                launcher.awaitOutput("^worker " + pid + " slow request started$", WAIT);
                launcher.cut();
                HttpResponse answer = slow.read();
                assertEquals(200, answer.status(), answer.toString());
                assertEquals("slow done pid=" + pid, answer.body());
            }
            assertEquals(143, launcher.awaitExit(WAIT), launcher.stdout());
            assertTrue(launcher.stdout().contains("worker " + pid + " stopped, drained=true\n"), launcher.stdout());
            assertEquals(List.of("start_server is gone (lifeline fd " + launcher.pipeFd()
                    + " closed): draining and exiting"), launcher.lifelineLines());
        }
    }
}

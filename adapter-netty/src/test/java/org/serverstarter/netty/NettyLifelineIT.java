package org.serverstarter.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * {@link HelloServer} started with a lifeline by {@link LifelineLauncher}: {@link NettyServerStarter#register} watches it
 * without the app asking, so once the superdaemon is gone the worker drains through
 * {@link NettyServerStarter#drainOnShutdown} and exits with 143, as on TERM.
 */
class NettyLifelineIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    @Timeout(90)
    void closedLifelineDrainsTheRequestInFlightAndExitsAsOnTerm() throws Exception {
        List<String> argv = new ArrayList<>(ChildJava.command(HelloServer.class, NettyServerStarter.transport().name()));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        try (LifelineLauncher launcher = LifelineLauncher.start(LifelineLauncher.Variable.PIPE, argv, dir)) {
            String identity = "gen=1 pid=" + launcher.worker().pid();
            launcher.awaitOutput("^HelloServer serving .*" + identity, WAIT);
            try (HttpConnection inFlight = HttpConnection.open(launcher.address())) {
                // Answered only once the drain has begun.
                inFlight.send("/until-drain");
                launcher.awaitOutput("^until-drain received " + identity + "$", WAIT);
                launcher.cut();
                HttpResponse answer = inFlight.read();
                assertEquals(200, answer.status(), answer.toString());
                assertEquals("drained " + identity + "\n", answer.body());
            }
            assertEquals(143, launcher.awaitExit(WAIT), launcher.stdout());
            assertEquals(List.of("start_server is gone (lifeline fd " + launcher.pipeFd()
                    + " closed): draining and exiting"), launcher.lifelineLines());
        }
    }
}

package org.serverstarter.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.adapters.LifelineLauncher;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/**
 * {@link TomcatWorker} started with a lifeline: {@link TomcatServerStarter#listen} watches it without the app asking,
 * so once the superdaemon is gone the worker drains through {@link TomcatServerStarter#drainOnShutdown} and exits with
 * 143, as on TERM. First with {@link LifelineLauncher}'s pipe, then end to end under our {@code start_server}, killed
 * with KILL.
 */
class TomcatLifelineIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Pattern READY = Pattern.compile("^tomcat ready gen=1 pid=(\\d+)$", Pattern.MULTILINE);

    @TempDir
    Path dir;

    @Test
    @Timeout(90)
    void closedLifelineDrainsTheRequestInFlightAndExitsAsOnTerm() throws Exception {
        try (LifelineLauncher launcher = LifelineLauncher.start(LifelineLauncher.Variable.PIPE, worker(), dir)) {
            launcher.awaitOutput("^tomcat ready gen=1 ", WAIT);
            try (HttpConnection slow = HttpConnection.open(launcher.address())) {
                slow.send("/sleep?ms=1500");
                launcher.awaitOutput("^sleep started gen=1$", WAIT);
                launcher.cut();
                HttpResponse answer = slow.read();
                assertEquals(200, answer.status(), answer.toString());
                assertEquals("gen=1 pid=" + launcher.worker().pid() + "\n", answer.body());
                assertEquals("close", answer.header("connection"), "answered by the drain");
            }
            assertEquals(143, launcher.awaitExit(WAIT), launcher.stdout());
            assertEquals(List.of("start_server is gone (lifeline fd " + launcher.pipeFd()
                    + " closed): draining and exiting"), launcher.lifelineLines());
        }
    }

    @Test
    @Timeout(90)
    void killNineOfOurStartServerStopsItsWorker() throws Exception {
        assumeTrue(Superdaemon.JAVA.isAvailable(), "superdaemon/target/start_server.jar is not built");
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Ports.freeTcpPort());
        List<String> args = new ArrayList<>(List.of("--port=127.0.0.1:" + address.getPort(), "--interval=1", "--"));
        args.addAll(worker());
        try (StarterProcess starter = StarterProcess.start(Superdaemon.JAVA, args, Map.of(), dir)) {
            starter.awaitOutput(READY.pattern(), WAIT);
            Matcher ready = READY.matcher(starter.output());
            assertTrue(ready.find());
            ProcessHandle worker = ProcessHandle.of(Long.parseLong(ready.group(1))).orElseThrow();
            try (HttpConnection slow = HttpConnection.open(address)) {
                slow.send("/sleep?ms=1500");
                starter.awaitOutput("^sleep started gen=1$", WAIT);
                starter.signal("KILL");
                HttpResponse answer = slow.read();
                assertEquals("gen=1 pid=" + worker.pid() + "\n", answer.body(), answer.toString());
            }
            try {
                worker.onExit().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("the orphaned worker still runs; output:\n" + starter.output(), e);
            }
            starter.awaitOutput("^start_server is gone \\(lifeline fd \\d+ closed\\): draining and exiting$", WAIT);
        }
    }

    private static List<String> worker() {
        List<String> argv = new ArrayList<>(ChildJava.command(TomcatWorker.class));
        argv.add(1, "--enable-native-access=ALL-UNNAMED");
        return argv;
    }
}

package org.serverstarter.adapters;

import org.serverstarter.adapters.internal.Lifeline;
import static java.util.regex.Pattern.quote;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.LifelineLauncher;
import org.serverstarter.testkit.LifelineLauncher.Variable;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.HttpClient;
import org.serverstarter.testkit.HttpConnection;
import org.serverstarter.testkit.HttpResponse;

/**
 * {@link ServerStarter#watchLifeline()} in a worker JVM of its own ({@link LifelineWorker}), started by
 * {@link LifelineLauncher} with a real pipe: once the pipe's write end is closed, the worker finishes the request in
 * flight and exits with 143, as on TERM; without the variable, or with an unusable one, it serves on.
 */
class LifelineIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.serverstarter.testkit.ChildJava#jdks")
    @Timeout(90)
    void closedLifelineDrainsTheRequestInFlightAndExitsAsOnTerm(Path jdk) throws Exception {
        // The superdaemon's NOTIFY_SOCKET goes with it: the drain's STOPPING=1 is not sent, nor its failure printed.
        Map<String, String> env = Map.of("NOTIFY_SOCKET", dir.resolve("gone-with-start_server").toString());
        try (LifelineLauncher launcher = LifelineLauncher.start(Variable.PIPE, worker(jdk, true), env, dir)) {
            launcher.awaitOutput("^worker serving watching=true watchers=1$", WAIT);
            try (HttpConnection slow = HttpConnection.open(launcher.address())) {
                slow.send("/sleep?ms=1500");
                launcher.awaitOutput("^sleep started$", WAIT);
                launcher.cut();
                HttpResponse answer = slow.read();
                assertEquals(200, answer.status(), answer.toString());
                assertEquals("slept 1500 ms pid=" + launcher.worker().pid() + "\n", answer.body());
            }
            assertEquals(143, launcher.awaitExit(WAIT), launcher.stdout());
            assertTrue(launcher.stdout().contains("worker drained idle=true\n"), launcher.stdout());
            // One line, and no warning from the JDK about jnr-ffi since the worker runs with --enable-native-access.
            assertEquals(goneLine(launcher), launcher.stderr());
        }
    }

    @Test
    @Timeout(90)
    void killNineOfTheSuperdaemonStopsItsOrphanedWorker() throws Exception {
        try (LifelineLauncher launcher = LifelineLauncher.start(Variable.PIPE,
                worker(Path.of(System.getProperty("java.home")), true), dir)) {
            launcher.awaitOutput("^worker serving watching=true watchers=1$", WAIT);
            try (HttpConnection slow = HttpConnection.open(launcher.address())) {
                slow.send("/sleep?ms=1500");
                launcher.awaitOutput("^sleep started$", WAIT);
                launcher.killLauncher();
                assertEquals(200, slow.read().status());
            }
            try {
                launcher.worker().onExit().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("the orphaned worker still runs; stderr:\n" + launcher.stderr(), e);
            }
            assertTrue(launcher.stdout().contains("worker drained idle=true\n"), launcher.stdout());
            assertEquals(goneLine(launcher), launcher.stderr());
        }
    }

    /** Perl's start_server sets no lifeline: nothing is watched, and not even jnr-ffi is loaded. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.serverstarter.testkit.ChildJava#jdks")
    @Timeout(90)
    void withoutTheVariableNothingIsWatched(Path jdk) throws Exception {
        try (LifelineLauncher launcher = LifelineLauncher.start(Variable.ABSENT, worker(jdk, false), dir)) {
            launcher.awaitOutput("^worker serving watching=false watchers=0$", WAIT);
            servesOnAfterTheCut(launcher);
            // On JDK 24+ loading jnr-ffi without --enable-native-access would print the JDK's warning here.
            assertEquals("", launcher.stderr());
        }
    }

    static Stream<Arguments> unusableValues() {
        return Stream.of(
                arguments(Variable.value(""), ""),
                arguments(Variable.value("abc"), quote("=\"abc\" is not a file descriptor number")),
                arguments(Variable.value("-1"), quote("=\"-1\" is not a file descriptor number")),
                arguments(Variable.value("999"), quote("=999: fd 999 is not open in this process")),
                arguments(Variable.DEV_NULL, quote("=") + "(\\d+): fd \\1" + quote(" is not a pipe but /dev/null")),
                arguments(Variable.SOCKET,
                        quote("=") + "(\\d+): fd \\1" + quote(" is not a pipe but socket:") + "\\[\\d+\\]"));
    }

    /**
     * One line on stderr (none for an empty value, which counts as absent), printed once although the worker asks
     * twice, and the worker serves on.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("unusableValues")
    @Timeout(90)
    void unusableValueIsReportedOnceAndIgnored(Variable value, String problem) throws Exception {
        try (LifelineLauncher launcher = LifelineLauncher.start(value,
                worker(Path.of(System.getProperty("java.home")), false), dir)) {
            launcher.awaitOutput("^worker serving watching=false watchers=0$", WAIT);
            servesOnAfterTheCut(launcher);
            String expected = problem.isEmpty() ? ""
                    : quote(Lifeline.VARIABLE) + problem + quote("; not watching for start_server's exit\n");
            assertTrue(launcher.stderr().matches(expected), launcher.stderr());
        }
    }

    /**
     * A watcher stops its worker within milliseconds of the cut; this one answers a request that takes longer than
     * that, and one more after it.
     */
    private static void servesOnAfterTheCut(LifelineLauncher launcher) throws IOException {
        launcher.cut();
        InetSocketAddress address = launcher.address();
        String pid = "pid=" + launcher.worker().pid() + "\n";
        assertEquals("slept 500 ms " + pid, HttpClient.get(address, "/sleep?ms=500").body());
        assertEquals(pid, HttpClient.get(address, "/").body());
        assertTrue(launcher.worker().isAlive());
    }

    private static String goneLine(LifelineLauncher launcher) {
        return "start_server is gone (lifeline fd " + launcher.pipeFd() + " closed): draining and exiting\n";
    }

    private static List<String> worker(Path jdk, boolean nativeAccess) {
        List<String> argv = new ArrayList<>(ChildJava.command(jdk, LifelineWorker.class));
        if (nativeAccess) {
            argv.add(1, "--enable-native-access=ALL-UNNAMED");
        }
        return argv;
    }
}

package org.serverstarter.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.Exited;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/**
 * A worker whose {@code SERVER_STARTER_PORT} does not match its fds stops with one line that says what is wrong, instead
 * of serving nothing or failing later in {@code accept}. Cases that need a real listening socket run under a
 * superdaemon; the others exec the worker through a shell that opens the fd.
 */
class BrokenContractIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    @Timeout(60)
    void fdThatIsNotOpen() throws Exception {
        String out = runDirectly("exec \"$@\"", "127.0.0.1:1=57");
        assertTrue(out.contains("worker: SERVER_STARTER_PORT entry \"127.0.0.1:1=57\": fd 57 is not open in this process"),
                out);
    }

    @Test
    @Timeout(60)
    void fdThatIsAFile() throws Exception {
        String out = runDirectly("exec 7</etc/hostname; exec \"$@\"", "127.0.0.1:1=7");
        assertTrue(out.contains("worker: SERVER_STARTER_PORT entry \"127.0.0.1:1=7\": fd 7 is not a socket but /etc/hostname"),
                out);
    }

    @Test
    @Timeout(60)
    void fdThatIsAConnectedTcpSocket() throws Exception {
        try (ServerSocket peer = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            // bash's /dev/tcp connects, so fd 7 is a TCP socket that is not listening.
            String out = runDirectly("exec 7<>/dev/tcp/127.0.0.1/" + peer.getLocalPort() + "; exec \"$@\"",
                    "127.0.0.1:1=7");
            assertTrue(out.contains("worker: SERVER_STARTER_PORT entry \"127.0.0.1:1=7\": "
                    + "fd 7 is a TCP socket that is not listening"), out);
        }
    }

    @ParameterizedTest
    @MethodSource("org.serverstarter.testkit.Superdaemon#available")
    @Timeout(60)
    void unixSocketUnderATcpKey(Superdaemon superdaemon) {
        String relabel = "export SERVER_STARTER_PORT=\"127.0.0.1:1=${SERVER_STARTER_PORT##*=}\"; exec \"$@\"";
        try (StarterProcess starter = underSuperdaemon(superdaemon, "--path=" + dir.resolve("s.sock"), relabel,
                ChildJava.command(EchoWorker.class, "blocking"))) {
            starter.awaitOutput("worker: SERVER_STARTER_PORT entry \"127\\.0\\.0\\.1:1=\\d+\": "
                    + "fd \\d+ is a unix socket but \"127\\.0\\.0\\.1:1\" names a TCP address$", WAIT);
        }
    }

    @ParameterizedTest
    @MethodSource("org.serverstarter.testkit.Superdaemon#available")
    @Timeout(60)
    void tcpSocketUnderAPathKey(Superdaemon superdaemon) {
        String relabel = "export SERVER_STARTER_PORT=\"/tmp/x.sock=${SERVER_STARTER_PORT##*=}\"; exec \"$@\"";
        try (StarterProcess starter = underSuperdaemon(superdaemon, "--port=127.0.0.1:" + Ports.freeTcpPort(),
                relabel, ChildJava.command(EchoWorker.class, "blocking"))) {
            starter.awaitOutput("fd \\d+ is a TCP socket but \"/tmp/x\\.sock\" names a unix socket path$", WAIT);
        }
    }

    @ParameterizedTest
    @MethodSource("org.serverstarter.testkit.Superdaemon#available")
    @Timeout(60)
    void udpSocket(Superdaemon superdaemon) {
        int port = Ports.freeTcpPort();
        try (StarterProcess starter = underSuperdaemon(superdaemon, "--port=127.0.0.1:u" + port, "exec \"$@\"",
                ChildJava.command(EchoWorker.class, "blocking"))) {
            starter.awaitOutput("worker: SERVER_STARTER_PORT entry \"127\\.0\\.0\\.1:" + port + "=\\d+\": fd \\d+ is a "
                    + "UDP datagram socket; only stream sockets \\(TCP or unix\\) can be served$", WAIT);
        }
    }

    @ParameterizedTest
    @MethodSource("org.serverstarter.testkit.Superdaemon#available")
    @Timeout(60)
    void missingAddOpensFlagIsNamed(Superdaemon superdaemon) {
        List<String> java = new ArrayList<>(ChildJava.command(EchoWorker.class, "blocking"));
        assertTrue(java.remove(ChildJava.ADD_OPENS));
        try (StarterProcess starter = underSuperdaemon(superdaemon, "--port=127.0.0.1:" + Ports.freeTcpPort(),
                "exec \"$@\"", java)) {
            starter.awaitOutput(Pattern.quote("needs the JVM flag --add-opens=java.base/sun.nio.ch=ALL-UNNAMED"), WAIT);
        }
    }

    /** Runs the worker through {@code bash -c script}, with SERVER_STARTER_PORT set, and returns its output. */
    private String runDirectly(String script, String serverStarterPort) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of("bash", "-c", script, "bash"));
        argv.addAll(ChildJava.command(EchoWorker.class, "blocking"));
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().put("SERVER_STARTER_PORT", serverStarterPort);
        Exited exited = Exited.run(pb, Duration.ofSeconds(30));
        assertEquals(3, exited.status(), exited.output());
        return exited.output();
    }

    private StarterProcess underSuperdaemon(Superdaemon superdaemon, String socketOption, String script,
                                            List<String> worker) {
        List<String> args = new ArrayList<>(List.of(socketOption, "--interval=1", "--", "bash", "-c", script, "bash"));
        args.addAll(worker);
        return StarterProcess.start(superdaemon, args, Map.of(), dir);
    }
}

package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Ports;
import org.serverstarter.testkit.Repo;
import org.serverstarter.testkit.Superdaemon;

/**
 * start_server under a fake systemd: socket activation (the sockets arrive as fds 3 and 4 with LISTEN_FDS and
 * LISTEN_PID) and the notification socket (READY=1 with MAINPID, RELOADING=1 around a restart, STOPPING=1; nothing
 * for an upgrade).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SystemdIT {
    @TempDir
    Path dir;

    @Test
    void socketActivationAndNotifications() throws Exception {
        Path workers = Repo.root().resolve("superdaemon/src/test/resources/workers");
        Path notify = dir.resolve("notify");
        Path messages = dir.resolve("messages");
        Path sock = dir.resolve("app.sock");
        int port = Ports.freeTcpPort();
        Process recorder = new ProcessBuilder(Reports.PYTHON, workers.resolve("notify_recorder.py").toString(),
                notify.toString(), messages.toString()).start();
        Process starter = null;
        try {
            Await.until("the notify recorder", Reports.TIMEOUT, () -> Files.exists(Path.of(messages + ".ready")));
            List<String> argv = new ArrayList<>(List.of("setsid", Reports.PYTHON,
                    workers.resolve("fake_systemd.py").toString(), notify.toString(), Integer.toString(port),
                    sock.toString(), "--", Superdaemon.JAVA.executable().toString(),
                    "--pid-file=" + dir.resolve("start_server.pid"), "--"));
            argv.addAll(Reports.worker());
            ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("out.log").toFile());
            pb.environment().put("REPORT_DIR", dir.toString());
            starter = pb.start();
            long pid = starter.pid();
            Reports reports = new Reports(dir);

            Properties first = reports.await(1);
            assertEquals("127.0.0.1:" + port + "=4;" + sock + "=5", first.getProperty("env.SERVER_STARTER_PORT"));
            for (String name : List.of("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET")) {
                assertNull(first.getProperty("env." + name), name + " must not reach the worker");
            }
            assertEquals("True", first.getProperty("fd.4.listening"));
            assertEquals("AF_UNIX", first.getProperty("fd.5.family"));
            String workerPid = first.getProperty("pid");
            Await.until("the worker answers on the activated socket", Reports.TIMEOUT,
                    () -> StarterIT.ask(new InetSocketAddress("127.0.0.1", port)).equals("1 " + workerPid));
            Await.until("READY=1", Reports.TIMEOUT, () -> read(messages).contains("READY=1|MAINPID=" + pid));

            // An upgrade is not a reload: the same main pid, the same worker, and nothing new for systemd to read
            // (a second READY=1 or a RELOADING=1 here would make it think a reload it never asked for had happened).
            OneShot upgrade = OneShot.run(dir, Map.of(), "--upgrade", "--pid-file=" + dir.resolve("start_server.pid"),
                    "--timeout=60");
            assertEquals(0, upgrade.status(), upgrade.output());
            assertTrue(upgrade.output().startsWith("start_server (pid:" + pid + ") upgraded: "), upgrade.output());
            assertEquals("1 " + workerPid, StarterIT.ask(new InetSocketAddress("127.0.0.1", port)));
            assertEquals(1, read(messages).lines().count(), read(messages));

            new ProcessBuilder("kill", "-HUP", Long.toString(pid)).start().waitFor();
            reports.await(2);
            Await.until("RELOADING=1 then READY=1", Reports.TIMEOUT,
                    () -> read(messages).lines().filter(l -> l.contains("READY=1")).count() == 2);
            assertTrue(read(messages).contains("RELOADING=1|MONOTONIC_USEC="), read(messages));

            new ProcessBuilder("kill", "-TERM", Long.toString(pid)).start().waitFor();
            assertTrue(starter.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, starter.exitValue());
            Await.until("STOPPING=1", Reports.TIMEOUT, () -> read(messages).contains("STOPPING=1"));
            for (String line : read(messages).lines().toList()) {
                assertTrue(line.startsWith(pid + " "), "sent by start_server itself: " + line);
            }
        } finally {
            if (starter != null && starter.isAlive()) {
                new ProcessBuilder("kill", "-KILL", "--", "-" + starter.pid()).start().waitFor();
            }
            recorder.destroyForcibly().waitFor();
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "";
        }
    }
}

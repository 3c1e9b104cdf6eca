package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.StatusFile;
import org.serverstarter.testkit.Superdaemon;

/**
 * Files in shared directories (issue 12, items 1-4 and 16): nothing is written through a link someone planted, a
 * file error after start-up never stops the service, a second instance never touches the running one's socket, and
 * a socket's mode is what the operator asked for.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HardeningFilesIT {
    @TempDir
    Path dir;

    @Test
    void theStatusFileIsNeverWrittenThroughAPlantedLink() throws Exception {
        Path status = dir.resolve("status");
        Path victim = Files.writeString(dir.resolve("victim"), "precious\n");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--status-file=" + status)) {
            StatusFile.awaitGenerations(status, g -> g.size() == 1, Reports.TIMEOUT);
            // The name the temporary file used to have, PATH.PID, and a few guesses at any other scheme.
            Files.createSymbolicLink(dir.resolve("status." + starter.pid()), victim);
            Files.createSymbolicLink(dir.resolve("status.tmp"), victim);
            starter.signal("HUP");
            reports.await(2);
            StatusFile.awaitGenerations(status, g -> g.keySet().equals(Set.of(2L)), Reports.TIMEOUT);
            assertEquals("precious\n", Files.readString(victim));
            assertFalse(Files.isSymbolicLink(status));
            assertEquals(Set.of("status", "victim", "status." + starter.pid(), "status.tmp"),
                    names(n -> n.startsWith("status") || n.equals("victim")), "no temporary file is left");
        }
    }

    @Test
    void aPidFileThatIsALinkOrNotOursIsRefusedAndTheTargetKept() throws Exception {
        Path victim = Files.writeString(dir.resolve("victim"), "precious\n");
        Path link = Files.createSymbolicLink(dir.resolve("pid"), victim);
        OneShot viaLink = OneShot.run(dir, Map.of("REPORT_DIR", dir.toString()),
                Reports.args("--pid-file=" + link).toArray(String[]::new));
        assertEquals(40, viaLink.status(), viaLink.output()); // ELOOP, from O_NOFOLLOW
        assertTrue(viaLink.output().startsWith("failed to open file:" + link + ": Too many levels of symbolic links"),
                viaLink.output());

        Path hardLink = Files.createLink(dir.resolve("pid2"), victim);
        OneShot viaHardLink = OneShot.run(dir, Map.of("REPORT_DIR", dir.toString()),
                Reports.args("--pid-file=" + hardLink).toArray(String[]::new));
        assertEquals(255, viaHardLink.status(), viaHardLink.output());
        assertEquals("refusing the pid file " + hardLink + ": it has 2 names (hard links)",
                viaHardLink.output().strip());
        assertEquals("precious\n", Files.readString(victim));

        Path foreign = Files.writeString(dir.resolve("pid3"), "");
        Files.setAttribute(foreign, "unix:uid", 65534);
        OneShot notOurs = OneShot.run(dir, Map.of("REPORT_DIR", dir.toString()),
                Reports.args("--pid-file=" + foreign).toArray(String[]::new));
        assertEquals(255, notOurs.status(), notOurs.output());
        assertTrue(notOurs.output().startsWith("refusing the pid file " + foreign + ": owned by uid 65534"),
                notOurs.output());
        assertEquals("", Files.readString(foreign));
    }

    @Test
    void aLogFileLinkIsFollowedOnlyWhenItIsOurs() throws Exception {
        Path victim = Files.writeString(dir.resolve("victim"), "precious\n");
        Path planted = Files.createSymbolicLink(dir.resolve("log"), victim);
        Files.setAttribute(planted, "unix:uid", 65534, LinkOption.NOFOLLOW_LINKS);
        OneShot refused = OneShot.run(dir, Map.of("REPORT_DIR", dir.toString()),
                Reports.args("--log-file=" + planted).toArray(String[]::new));
        assertEquals(40, refused.status(), refused.output());
        assertEquals("failed to open log file:" + planted + ": a symbolic link owned by uid 65534, not followed",
                refused.output().strip());
        assertEquals("precious\n", Files.readString(victim));

        Files.setAttribute(planted, "unix:uid", Files.getAttribute(dir, "unix:uid"), LinkOption.NOFOLLOW_LINKS);
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--log-file=" + planted)) {
            reports.await(1);
            Await.until("the log through our own link", Reports.TIMEOUT, () -> read(victim).contains("starting new"));
        }
    }

    @Test
    void inADirectoryOthersMayWriteTheLogMustBeAFileNobodyElseCouldHavePlanted() throws Exception {
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path victim = Files.writeString(dir.resolve("victim"), "precious\n");
        Path hardLink = Files.createLink(shared.resolve("log"), victim);
        OneShot linked = OneShot.run(dir, Map.of("REPORT_DIR", dir.toString()),
                Reports.args("--log-file=" + hardLink).toArray(String[]::new));
        assertEquals(13, linked.status(), linked.output());
        assertEquals("failed to open log file:" + hardLink + ": it has 2 names (hard links)", linked.output().strip());
        Path foreign = Files.writeString(shared.resolve("log2"), "");
        Files.setAttribute(foreign, "unix:uid", 65534);
        OneShot notOurs = OneShot.run(dir, Map.of("REPORT_DIR", dir.toString()),
                Reports.args("--log-file=" + foreign).toArray(String[]::new));
        assertEquals(13, notOurs.status(), notOurs.output());
        assertEquals("precious\n", Files.readString(victim));
        assertEquals("", Files.readString(foreign));
    }

    @Test
    void aStatusFileThatCannotBeWrittenDoesNotStopTheService() throws Exception {
        Path status = dir.resolve("status");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--status-file=" + status)) {
            long first = Long.parseLong(reports.await(1).getProperty("pid"));
            StatusFile.awaitGenerations(status, g -> g.size() == 1, Reports.TIMEOUT);
            // A directory where the file was: rename(2) onto it fails, as on a full disk or a read-only directory,
            // and root's permissions cannot get around it.
            Files.delete(status);
            Files.createDirectory(status);
            Files.writeString(status.resolve("keep"), "x");
            starter.signal("HUP");
            long second = Long.parseLong(reports.await(2).getProperty("pid"));
            starter.awaitOutput("^old worker " + first + " died", Reports.TIMEOUT);
            assertEquals(1, starter.output().lines().filter(l -> l.contains("still serving; trying again")).count(),
                    starter.output());
            assertTrue(ProcessHandle.of(starter.pid()).isPresent() && ProcessHandle.of(second).isPresent());

            Files.delete(status.resolve("keep"));
            Files.delete(status);
            StatusFile.awaitGenerations(status, g -> g.equals(Map.of(2L, second)), Reports.TIMEOUT);
            starter.awaitOutput("^status file written again$", Reports.TIMEOUT);
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
        }
    }

    @Test
    void aSecondInstanceLeavesTheRunningOnesSocketAndSaysWhyOnTheTerminal() throws Exception {
        Path sock = dir.resolve("app.sock");
        Path pid = dir.resolve("pid");
        Reports reports = new Reports(dir);
        try (StarterProcess first = Reports.start(dir, Map.of(), "--path=" + sock, "--pid-file=" + pid)) {
            long worker = Long.parseLong(reports.await(1).getProperty("pid"));
            assertTrue(answer(sock).endsWith(" " + worker));
            List<String> daemonize = List.of("--daemonize", "--log-file=" + dir.resolve("log"));
            for (List<String> extra : List.of(List.<String>of(), daemonize)) {
                List<String> options = new java.util.ArrayList<>(List.of("--path=" + sock, "--pid-file=" + pid));
                options.addAll(extra);
                OneShot second = OneShot.run(dir, Map.of("REPORT_DIR", dir.toString()),
                        Reports.args(options.toArray(String[]::new)).toArray(String[]::new));
                assertEquals(11, second.status(), extra + ": " + second.output());
                assertEquals("failed to lock file:" + pid + ": another start_server holds it (pid " + first.pid()
                        + ")", second.output().strip(), extra.toString());
                assertTrue(answer(sock).endsWith(" " + worker), "the first instance still answers on its path");
            }
            assertEquals(first.pid() + "\n", Files.readString(pid));
        }
    }

    @Test
    void aSocketFileIsReplacedOnlyWhenNothingAcceptsOnIt() throws Exception {
        Path sock = dir.resolve("app.sock");
        try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            other.bind(UnixDomainSocketAddress.of(sock));
            OneShot taken = OneShot.run(dir, Map.of("REPORT_DIR", dir.toString()),
                    Reports.args("--path=" + sock).toArray(String[]::new));
            assertEquals(98, taken.status(), taken.output());
            assertTrue(taken.output().lines().anyMatch(("failed to listen to file " + sock + ":Address already in"
                    + " use (a process accepts connections on it)")::equals), taken.output());
            assertTrue(Files.exists(sock, LinkOption.NOFOLLOW_LINKS));
            try (SocketChannel stillThere = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
                assertTrue(stillThere.isConnected());
            }
        }
        // Closed without unlinking: the file stays behind, refusing connections, and may be replaced.
        assertTrue(Files.exists(sock, LinkOption.NOFOLLOW_LINKS));
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--path=" + sock)) {
            long worker = Long.parseLong(reports.await(1).getProperty("pid"));
            assertTrue(starter.output().contains("removing existing socket file:" + sock), starter.output());
            assertTrue(answer(sock).endsWith(" " + worker));
        }
    }

    @Test
    void aHugeEnvdirFileIsSkippedWithOneLine() throws Exception {
        Path envdir = Files.createDirectories(dir.resolve("env"));
        Files.writeString(envdir.resolve("APP_MODE"), "blue\n");
        try (RandomAccessFile huge = new RandomAccessFile(envdir.resolve("HUGE").toFile(), "rw")) {
            huge.setLength(100L << 20); // sparse: 100 MB of zeros, no line break
        }
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--envdir=" + envdir)) {
            var first = reports.await(1);
            assertEquals("blue", first.getProperty("env.APP_MODE"));
            assertEquals(null, first.getProperty("env.HUGE"));
            starter.signal("HUP");
            reports.await(2);
            assertEquals(1, starter.output().lines()
                    .filter(l -> l.equals("envdir " + envdir + ": ignoring HUGE, its first line is longer than"
                            + " 131072 bytes")).count(), starter.output());
            starter.signal("TERM");
            assertEquals(0, starter.awaitExit(Reports.TIMEOUT));
        }
    }

    @Test
    void pathModeSetsTheSocketsPermissionsWithoutAWindow() throws Exception {
        Path sock = dir.resolve("app.sock");
        Reports reports = new Reports(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--path=" + sock, "--path-mode=0660")) {
            reports.await(1);
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock,
                    LinkOption.NOFOLLOW_LINKS)));
            // A user with no write permission on the socket cannot connect.
            Process nobody = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    Reports.SYSTEM_PYTHON, "-c", "import socket; socket.socket(socket.AF_UNIX).connect('" + sock + "')")
                    .redirectErrorStream(true).start();
            String said = new String(nobody.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(nobody.waitFor(30, TimeUnit.SECONDS));
            assertEquals(1, nobody.exitValue(), said);
            assertTrue(said.contains("PermissionError"), said);
        }
        OneShot bad = OneShot.run(dir, Map.of("REPORT_DIR", dir.toString()),
                Reports.args("--path=" + sock, "--path-mode=rw").toArray(String[]::new));
        assertEquals(255, bad.status(), bad.output());
        assertEquals("invalid --path-mode value:rw (an octal mode from 0 to 0777, such as 0660)", bad.output().strip());
    }

    @Test
    void byDefaultASocketIsOpenToEveryoneAsInPerl() throws Exception {
        Path sock = dir.resolve("app.sock");
        Reports reports = new Reports(dir);
        try (StarterProcess starter = Reports.start(dir, Map.of(), "--path=" + sock)) {
            reports.await(1);
            assertEquals("rwxrwxrwx", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock,
                    LinkOption.NOFOLLOW_LINKS)));
        }
    }

    /** What the report worker says on a connection: "GENERATION PID". */
    private static String answer(Path sock) throws IOException {
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
            ByteBuffer buffer = ByteBuffer.allocate(64);
            while (channel.read(buffer) >= 0 && buffer.hasRemaining()) {
                // until the worker closes
            }
            return new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII).strip();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }

    private Set<String> names(java.util.function.Predicate<String> filter) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).filter(filter).collect(Collectors.toSet());
        }
    }
}

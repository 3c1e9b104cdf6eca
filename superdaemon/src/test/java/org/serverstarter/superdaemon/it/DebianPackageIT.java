package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Exited;

/**
 * The .deb {@code mvn package} builds where dpkg-deb exists: installed with {@code dpkg -i} on this machine (as CI
 * does, as root on a fresh Debian), it runs and restarts a server from its installed paths, leaves Perl's
 * {@code /usr/bin/start_server} alone, and {@code dpkg --purge} removes every trace. Then, in a dpkg root of its
 * own, who holds {@code /usr/bin/start_server} as Perl's package comes and goes.
 *
 * <p>It skips, saying why, where it cannot run (not root, no dpkg, no package built, the package already installed
 * by someone else); .ci/run sets SERVER_STARTER_REQUIRE_DEB_TEST so that in CI a skip is a failure instead.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DebianPackageIT {
    private static final String PACKAGE = "server-starter-jvm";
    private static final Path NAME = Path.of("/usr/bin/start_server");
    private static final Path JVM_NAME = Path.of("/usr/bin/start_server-jvm");
    private static final Path HOME = Path.of("/usr/lib/server-starter-jvm");
    private static final Path TARGET = Path.of(System.getProperty("dist.tarball", "target/x")).getParent();
    /** One installing test at a time on this machine, whichever worktree or build runs it. */
    private static final Path LOCK = Path.of("/run/lock/server-starter-jvm-DebianPackageIT.lock");
    private static final Duration LOCK_WAIT = Duration.ofMinutes(3);

    @Test
    void installsBesideWhatHoldsStartServerRestartsAndPurgesCleanly(@TempDir Path dir) throws Exception {
        Path deb = preconditions();
        try (FileChannel lockFile = openLock(); FileLock lock = lockFile.lock()) {
            String status = dpkgQueryStatus();
            require(status.isEmpty() || status.contains("not-installed") || status.contains("config-files"),
                    PACKAGE + " is installed already (" + status.strip() + "): not touching an installation this test"
                            + " did not make");
            String nameBefore = describe(NAME);
            Thread purgeAtExit = new Thread(DebianPackageIT::purgeQuietly, "purge " + PACKAGE);
            Runtime.getRuntime().addShutdownHook(purgeAtExit);
            try {
                Exited install = dpkg("-i", deb.toString());
                assertEquals(0, install.status(), install.output());

                Installed.assertIsOurs(List.of(JVM_NAME.toString()));
                Installed.assertIsOurs(List.of(HOME.resolve("bin/start_server").toString()));
                assertTrue(Files.isRegularFile(HOME.resolve("lib/start_server.jsa")),
                        "postinst did not dump the class-data archive:\n" + install.output());
                if (nameBefore.equals("absent")) {
                    // Nothing held the name: ours through update-alternatives.
                    assertEquals(HOME.resolve("bin/start_server"), NAME.toRealPath());
                    Installed.assertIsOurs(List.of(NAME.toString()));
                } else {
                    assertEquals(nameBefore, describe(NAME), NAME + " changed while " + PACKAGE + " is installed");
                }

                Path work = Files.createDirectory(dir.resolve("work"));
                Installed.restartOnce(List.of(JVM_NAME.toString()), work);
            } finally {
                Exited purge = dpkg("--purge", PACKAGE);
                Runtime.getRuntime().removeShutdownHook(purgeAtExit);
                assertEquals(0, purge.status(), purge.output());
            }
            String after = dpkgQueryStatus();
            assertTrue(after.isEmpty() || after.contains("not-installed"), "still known to dpkg: " + after);
            assertFalse(Files.exists(HOME, LinkOption.NOFOLLOW_LINKS), HOME + " left behind");
            assertFalse(Files.exists(JVM_NAME, LinkOption.NOFOLLOW_LINKS), JVM_NAME + " left behind");
            assertFalse(Files.exists(Path.of("/var/lib/dpkg/alternatives/start_server")), "alternative left behind");
            assertEquals(nameBefore, describe(NAME), NAME + " is not as the test found it");
        }
    }

    /**
     * In a dpkg root of its own (maintainer scripts run without chroot, with DPKG_ROOT): ours takes
     * /usr/bin/start_server when nothing holds it; a Perl-like package that ships it as a plain file takes it over
     * and we drop our alternative; once that package is purged, ours takes it back. The dpkg triggers on the name
     * do both. Nothing outside the temporary directory is touched.
     */
    @Test
    void takesTheNameOnlyWhileNoOtherPackageHoldsIt(@TempDir Path dir) throws Exception {
        Path deb = preconditions();
        Path root = Files.createDirectory(dir.resolve("root"));
        for (String d : List.of("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers",
                "var/lib/dpkg/alternatives", "etc/alternatives", "var/log", "usr/bin")) {
            Files.createDirectories(root.resolve(d));
        }
        Files.createFile(root.resolve("var/lib/dpkg/status"));
        Files.createFile(root.resolve("var/lib/dpkg/available"));
        // The private root has no JDK: a stand-in that provides what our Depends names, so that dpkg configures
        // and runs triggers as it would on a real system.
        Path jre = fakePackage(dir, "fake-jre", "Provides: java17-runtime-headless\n", null);
        Path perl = fakePackage(dir, "fake-perl-start-server", "", "#!/bin/sh\necho perl\n");
        Path name = root.resolve("usr/bin/start_server");
        List<String> dpkg = List.of("dpkg", "--root=" + root, "--force-script-chrootless");

        assertEquals(0, run(dpkg, "-i", jre.toString(), deb.toString()).status());
        assertTrue(Files.isSymbolicLink(name), "no alternative for " + name);
        assertEquals(Path.of("/usr/lib/server-starter-jvm/bin/start_server"),
                Files.readSymbolicLink(root.resolve("etc/alternatives/start_server")));
        assertTrue(Files.isSymbolicLink(root.resolve("usr/bin/start_server-jvm")));
        Path archive = root.resolve("usr/lib/server-starter-jvm/lib/start_server.jsa");
        assertTrue(Files.isRegularFile(archive), "postinst did not dump the class-data archive");

        // Installing the same version again runs prerm upgrade and postinst configure once more: idempotent.
        assertEquals(0, run(dpkg, "-i", deb.toString()).status());
        assertTrue(Files.isSymbolicLink(name), "the alternative was lost on reinstall");
        assertTrue(Files.isRegularFile(archive), "no class-data archive after reinstall");

        assertEquals(0, run(dpkg, "-i", perl.toString()).status());
        assertTrue(Files.isRegularFile(name, LinkOption.NOFOLLOW_LINKS), "the other package's file is not there");
        assertEquals("#!/bin/sh\necho perl\n", Files.readString(name));
        assertFalse(Files.exists(root.resolve("var/lib/dpkg/alternatives/start_server")),
                "our alternative is still registered behind the other package's file");

        assertEquals(0, run(dpkg, "--purge", "fake-perl-start-server").status());
        assertTrue(Files.isSymbolicLink(name), "the name was not taken back once the other package left");

        assertEquals(0, run(dpkg, "--purge", PACKAGE).status());
        assertFalse(Files.exists(name, LinkOption.NOFOLLOW_LINKS), name + " left behind");
        assertFalse(Files.exists(root.resolve("usr/lib/server-starter-jvm"), LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(root.resolve("etc/alternatives/start_server"), LinkOption.NOFOLLOW_LINKS));
    }

    private static Path preconditions() throws IOException {
        require("root".equals(System.getProperty("user.name")), "needs root to install a package with dpkg -i");
        require(Files.isExecutable(Path.of("/usr/bin/dpkg")) && Files.isExecutable(Path.of("/usr/bin/dpkg-deb")),
                "no dpkg here (not Debian)");
        try (Stream<Path> debs = Files.list(TARGET)) {
            // build-deb's version: 0.1.0-SNAPSHOT is 0.1.0~SNAPSHOT-1; a .deb of another version may linger in target/.
            String prefix = PACKAGE + "_" + System.getProperty("dist.version", "?").replace('-', '~') + "-1_";
            List<Path> found = debs.filter(p -> p.getFileName().toString().startsWith(prefix)
                    && p.getFileName().toString().endsWith(".deb")).toList();
            require(found.size() == 1, "expected one " + prefix + "*.deb in " + TARGET + " (built by mvn package"
                    + " where dpkg-deb exists), found " + found);
            return found.get(0);
        }
    }

    private static void require(boolean condition, String reason) {
        if (condition) {
            return;
        }
        if (System.getenv("SERVER_STARTER_REQUIRE_DEB_TEST") != null) {
            fail("SERVER_STARTER_REQUIRE_DEB_TEST is set, but: " + reason);
        }
        Assumptions.abort(reason);
    }

    /**
     * /run/lock is writable by everyone: the lock file is opened without following a link, and must be a regular
     * file of ours (root's, sticky directory: no one else can replace it once it is ours).
     */
    private static FileChannel openLock() throws IOException {
        FileChannel channel = FileChannel.open(LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
        if (!Files.isRegularFile(LOCK, LinkOption.NOFOLLOW_LINKS)
                || (int) Files.getAttribute(LOCK, "unix:uid", LinkOption.NOFOLLOW_LINKS) != 0) {
            channel.close();
            fail(LOCK + " is not a regular file of root's: someone else made it");
        }
        return channel;
    }

    /** Whether, and as what, the name exists: a link and its target, or a file and its content's digest. */
    private static String describe(Path path) throws Exception {
        if (Files.isSymbolicLink(path)) {
            return "link to " + Files.readSymbolicLink(path) + " (" + path.toRealPath() + ")";
        }
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return "absent";
        }
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(path));
        return "file " + HexFormat.of().formatHex(digest) + " inode "
                + Files.getAttribute(path, "unix:ino", LinkOption.NOFOLLOW_LINKS) + " mode "
                + PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
    }

    private static String dpkgQueryStatus() throws IOException, InterruptedException {
        Exited query = Exited.run(new ProcessBuilder("dpkg-query", "-W", "-f=${Status}", PACKAGE),
                Installed.TIMEOUT);
        return query.status() == 0 ? query.output() : "";
    }

    /**
     * dpkg on this machine. While another dpkg or apt holds its lock (a fresh CI machine's daily apt jobs, an
     * install in another terminal), it waits for the lock, at most {@link #LOCK_WAIT}.
     */
    private static Exited dpkg(String... args) {
        Exited[] last = new Exited[1];
        Await.until("dpkg's lock, held by another dpkg or apt", LOCK_WAIT, () -> {
            try {
                last[0] = Installed.run(List.of("dpkg"), args);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
            return !(last[0].status() != 0 && last[0].output().contains("lock was locked by another process"));
        });
        if (last[0].status() != 0) {
            System.err.println("dpkg " + String.join(" ", args) + ":\n" + last[0].output());
        }
        return last[0];
    }

    private static Exited run(List<String> command, String... args) throws IOException, InterruptedException {
        Exited exited = Installed.run(command, args);
        if (exited.status() != 0) {
            System.err.println(String.join(" ", command) + " " + String.join(" ", args) + ":\n" + exited.output());
        }
        return exited;
    }

    private static void purgeQuietly() {
        try {
            dpkg("--purge", PACKAGE);
        } catch (AssertionError | UncheckedIOException e) {
            System.err.println("could not purge " + PACKAGE + ": " + e.getMessage());
        }
    }

    /** A minimal package: its control fields, and a plain /usr/bin/start_server when {@code startServer} is given. */
    private static Path fakePackage(Path dir, String name, String fields, String startServer) throws Exception {
        Path tree = Files.createDirectories(dir.resolve(name));
        Files.setPosixFilePermissions(tree, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path control = Files.createDirectories(tree.resolve("DEBIAN"));
        Files.writeString(control.resolve("control"), "Package: " + name + "\nVersion: 1\nArchitecture: all\n"
                + fields + "Maintainer: DebianPackageIT <test@invalid>\nDescription: stand-in for " + name + "\n");
        if (startServer != null) {
            Path bin = Files.createDirectories(tree.resolve("usr/bin"));
            Path file = bin.resolve("start_server");
            Files.writeString(file, startServer);
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Path deb = dir.resolve(name + ".deb");
        Exited build = Installed.run(List.of("dpkg-deb"), "--build", "--root-owner-group", tree.toString(),
                deb.toString());
        assertEquals(0, build.status(), build.output());
        return deb;
    }
}

package org.serverstarter.superdaemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.Exited;

/**
 * The distribution archive {@code mvn package} leaves in superdaemon/target: unpacked anywhere, its bin/start_server
 * runs and restarts a server, dumps its class-data archive at the first start where lib/ is the user's own, and
 * runs without one where it is not.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DistributionIT {
    private static final Path TARBALL = Path.of(System.getProperty("dist.tarball",
            "target/server-starter-" + System.getProperty("dist.version", "") + ".tar.gz"));
    private static final String TOP = "server-starter-" + System.getProperty("dist.version");
    private static final int NOBODY = 65534;

    @Test
    void unpackedAnywhereItRunsAndRestarts(@TempDir Path dir) throws Exception {
        Path home = unpack(dir);
        List<String> launcher = List.of(home.resolve("bin/start_server").toString());
        assertEquals(List.of("LICENSE", "README.md", "bin", "lib"), list(home));
        assertFalse(Files.exists(home.resolve("lib/start_server.jsa")), "the archive must not ship a .jsa");

        Installed.assertIsOurs(launcher);
        // The first start dumped the archive (lib/ is ours), and the next one maps it.
        assertTrue(Files.isRegularFile(home.resolve("lib/start_server.jsa")));
        assertEquals(List.of("jni", "start_server.classlist", "start_server.jar", "start_server.jsa"),
                list(home.resolve("lib")), "make-cds left something behind");
        assertMapsTheArchive(launcher, dir);

        Path work = Files.createDirectory(dir.resolve("work"));
        Installed.restartOnce(launcher, work);
    }

    /**
     * As another user (nobody): first from a tree that user cannot write (the start works, silently without an
     * archive, and nothing is written), then from one of its own (the first start dumps the archive).
     */
    @Test
    void anotherUserRunsItReadOnlyAndFromItsOwnCopy(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root to switch to user nobody (setpriv)");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "no /usr/bin/setpriv (util-linux)");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path home = unpack(dir);
        List<String> asNobody = List.of("/usr/bin/setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY,
                "--clear-groups", home.resolve("bin/start_server").toString());

        Exited readOnly = Installed.run(asNobody, "--version");
        assertEquals(0, readOnly.status(), readOnly.output());
        assertEquals("0.35\n", readOnly.output(), "a start without a writable lib/ must be silent");
        assertEquals(List.of("jni", "start_server.classlist", "start_server.jar"), list(home.resolve("lib")));

        chown(home, NOBODY);
        Installed.assertIsOurs(asNobody);
        Path archive = home.resolve("lib/start_server.jsa");
        assertTrue(Files.isRegularFile(archive, LinkOption.NOFOLLOW_LINKS));
        assertEquals(NOBODY, (int) Files.getAttribute(archive, "unix:uid", LinkOption.NOFOLLOW_LINKS));

        Path work = Files.createDirectory(dir.resolve("work"));
        chown(work, NOBODY);
        Installed.restartOnce(asNobody, work);
    }

    /** Bad inputs of the installed layout: one line, the documented status, nothing left behind. */
    @Test
    void badInstallationsSayWhatIsWrong(@TempDir Path dir) throws Exception {
        Path home = unpack(dir);
        List<String> makeCds = List.of(home.resolve("bin/make-cds").toString());

        Exited option = Installed.run(makeCds, "--bogus");
        assertEquals(1, option.status(), option.output());
        assertEquals("make-cds: unknown option --bogus (usage: make-cds [--quiet])\n", option.output());

        // A lib/ that others may write to is not trusted with the archive, neither by hand nor at a first start.
        Path lib = home.resolve("lib");
        Files.setPosixFilePermissions(lib, PosixFilePermissions.fromString("rwxrwxr-x"));
        Exited shared = Installed.run(makeCds);
        assertEquals(255, shared.status(), shared.output());
        assertEquals("make-cds: " + lib + " is writable by group or others: not writing there\n", shared.output());
        Exited start = Installed.run(List.of(home.resolve("bin/start_server").toString()), "--version");
        assertEquals("0.35\n", start.output());
        assertEquals(List.of("jni", "start_server.classlist", "start_server.jar"), list(lib));
        Files.setPosixFilePermissions(lib, PosixFilePermissions.fromString("rwxr-xr-x"));

        // A directory planted where the archive goes: mv -T refuses to move into it.
        Files.createDirectory(lib.resolve("start_server.jsa"));
        Exited planted = Installed.run(makeCds);
        assertEquals(255, planted.status(), planted.output());
        assertTrue(planted.output().startsWith("make-cds: cannot rename the archive into " + lib), planted.output());
        assertEquals(1, planted.output().lines().filter(l -> l.startsWith("make-cds:")).count(), planted.output());
        assertEquals(List.of("jni", "start_server.classlist", "start_server.jar", "start_server.jsa"), list(lib));
        assertTrue(Files.isDirectory(lib.resolve("start_server.jsa")));
        Files.delete(lib.resolve("start_server.jsa"));

        // An incomplete installation.
        Files.delete(lib.resolve("start_server.jar"));
        Exited noJar = Installed.run(List.of(home.resolve("bin/start_server").toString()), "--version");
        assertEquals(255, noJar.status(), noJar.output());
        assertEquals("start_server: " + lib.resolve("start_server.jar")
                + " not found; the installation is incomplete, unpack or install it again\n", noJar.output());
    }

    private static void assertMapsTheArchive(List<String> launcher, Path dir) throws Exception {
        Path log = dir.resolve("classes.log");
        ProcessBuilder builder = new ProcessBuilder(launcher.get(0), "--version");
        builder.environment().put("JAVA_TOOL_OPTIONS", "-Xlog:class+load:file=" + log);
        Exited version = Exited.run(builder, Installed.TIMEOUT);
        assertEquals(0, version.status(), version.output());
        assertTrue(Files.readString(log).contains("org.serverstarter.superdaemon.Main source: shared objects file"),
                "Main was not loaded from lib/start_server.jsa");
    }

    private static Path unpack(Path dir) throws IOException, InterruptedException {
        Assumptions.assumeTrue(Files.isRegularFile(TARBALL), "no " + TARBALL + ": run mvn package first");
        Exited tar = Exited.run(new ProcessBuilder("tar", "-xzf", TARBALL.toString(), "-C", dir.toString()),
                Installed.TIMEOUT);
        assertEquals(0, tar.status(), tar.output());
        return dir.resolve(TOP);
    }

    private static void chown(Path tree, int uid) throws IOException, InterruptedException {
        Exited chown = Exited.run(new ProcessBuilder("chown", "-R", "--no-dereference", uid + ":" + uid,
                tree.toString()), Installed.TIMEOUT);
        assertEquals(0, chown.status(), chown.output());
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}

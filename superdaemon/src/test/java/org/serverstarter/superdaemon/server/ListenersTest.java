package org.serverstarter.superdaemon.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.superdaemon.cli.PortSpec;
import org.serverstarter.superdaemon.posix.ErrnoException;

/** The worker fds are the numbers Perl's start_server gives (observed with Debian's 0.35), minus its clobbering. */
class ListenersTest {

    private static List<PortSpec> ports(String... raw) {
        return List.of(raw).stream().map(PortSpec::parse).collect(Collectors.toList());
    }

    @Test
    void numbersStartAtFourAsInPerl() {
        assertEquals(List.of(4, 5, 6), Listeners.workerFds(ports("127.0.0.1:1", "2"), 1, false));
        assertEquals(List.of(4, 5), Listeners.workerFds(ports(), 2, false));
    }

    @Test
    void aLogFileTakesFdFour() {
        assertEquals(List.of(5), Listeners.workerFds(ports("127.0.0.1:1"), 0, true));
    }

    @Test
    void requestedNumbersAreKeptAndNeverReused() {
        assertEquals(List.of(7, 4), Listeners.workerFds(ports("127.0.0.1:1=7", "127.0.0.1:2"), 0, false));
        // Perl gives both sockets fd 4 here and the first one is lost.
        assertEquals(List.of(5, 4), Listeners.workerFds(ports("127.0.0.1:1", "2=4"), 0, false));
        assertEquals(List.of(0, 4), Listeners.workerFds(ports("1=0"), 1, false));
    }

    @Test
    void twoRequestsForOneFdAreRefused() {
        Fatal e = assertThrows(Fatal.class, () -> Listeners.workerFds(ports("1=5", "2=5"), 0, false));
        assertEquals("more than one socket requests file descriptor 5", e.getMessage());
        assertEquals(255, e.exitStatus());
    }

    @Test
    void theModeIsSetOnlyOnASocketFileWithOneName(@TempDir Path dir) throws Exception {
        Path other = dir.resolve("private.sock");
        try (ServerSocketChannel privateSocket = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            privateSocket.bind(UnixDomainSocketAddress.of(other));
            Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rw-------"));
            // What a user who may write the directory does between bind and chmod: another socket at the name.
            Path planted = Files.createLink(dir.resolve("app.sock"), other);
            ErrnoException refused = assertThrows(ErrnoException.class,
                    () -> Listeners.claim(planted.toString(), 0777));
            assertEquals("File exists (replaced while it was bound)", refused.getMessage());
            assertEquals("rw-------", PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(other, LinkOption.NOFOLLOW_LINKS)));
        }
    }
}

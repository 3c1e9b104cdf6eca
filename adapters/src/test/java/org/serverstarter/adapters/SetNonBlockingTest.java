package org.serverstarter.adapters;

import org.serverstarter.adapters.internal.Libc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link InheritedSocket#setNonBlocking()} on a socket made here in blocking mode, as the superdaemons make theirs; the
 * kernel's own view of the flags ({@code /proc/self/fdinfo}) tells whether it worked.
 */
class SetNonBlockingTest {
    private static final int AF_INET = 2;
    private static final int SOCK_STREAM = 1;
    private static final int O_NONBLOCK = 04000;
    private static final Pattern FLAGS = Pattern.compile("^flags:\\s+([0-7]+)$", Pattern.MULTILINE);

    @BeforeAll
    static void linux() {
        assumeTrue(System.getProperty("os.name").equals("Linux"), "O_NONBLOCK is set on Linux only");
    }

    @Test
    void setsTheFlagOnABlockingSocketAndKeepsItSet() throws IOException {
        Libc.Functions c = Libc.get();
        int fd = c.socket(AF_INET, SOCK_STREAM, 0);
        assertTrue(fd >= 0, "socket: " + Libc.lastError());
        try {
            InheritedSocket socket = InheritedSocket.of("127.0.0.1:8080", fd);
            assertEquals(0, flags(fd) & O_NONBLOCK, "a new socket is blocking");
            socket.setNonBlocking();
            assertEquals(O_NONBLOCK, flags(fd) & O_NONBLOCK);
            socket.setNonBlocking();
            assertEquals(O_NONBLOCK, flags(fd) & O_NONBLOCK);
        } finally {
            c.close(fd);
        }
    }

    @Test
    void anFdThatIsNotOpenFailsWithTheEntryAndTheReason() {
        // Far above any fd this JVM opens, so no other thread can open it meanwhile.
        int fd = 1_000_000;
        StarterException e = assertThrows(StarterException.class,
                () -> InheritedSocket.of("127.0.0.1:8080", fd).setNonBlocking());
        assertTrue(e.getMessage().startsWith("SERVER_STARTER_PORT entry \"127.0.0.1:8080=" + fd + "\": fcntl("),
                e.getMessage());
        assertTrue(e.getMessage().contains("errno 9"), e.getMessage());
    }

    private static int flags(int fd) throws IOException {
        Matcher m = FLAGS.matcher(Files.readString(Path.of("/proc/self/fdinfo/" + fd)));
        assertTrue(m.find(), "no flags line for fd " + fd);
        return Integer.parseInt(m.group(1), 8);
    }
}

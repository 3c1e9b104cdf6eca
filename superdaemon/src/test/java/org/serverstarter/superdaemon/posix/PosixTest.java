package org.serverstarter.superdaemon.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.superdaemon.posix.SpawnRequest.Placement;
import org.serverstarter.testkit.Await;

/** The native facade on its own: real sockets, real children, real signals and locks. */
@Timeout(60)
class PosixTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void loads() {
        assertEquals(null, Posix.unavailabilityCause());
    }

    private static List<String> environment() {
        return System.getenv().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.toList());
    }

    private static int waitFor(long pid) throws ErrnoException {
        int[] status = {-1};
        Await.until("child " + pid + " to exit", Duration.ofSeconds(30), () -> {
            try {
                status[0] = Posix.reap(pid);
            } catch (ErrnoException e) {
                throw new AssertionError(e);
            }
            return status[0] >= 0;
        });
        return status[0];
    }

    @Test
    void aChildGetsExactlyItsPlacementsAtTheirNumbers() throws Exception {
        int listener = Posix.socket(Posix.AF_INET, Posix.SOCK_STREAM);
        int[] pipe = Posix.pipe();
        Path out = dir.resolve("fds");
        int output = Posix.openAppend(out.toString(), false);
        try {
            Posix.bind(listener, InetAddress.getByName("127.0.0.1"), 0);
            Posix.listen(listener, 16);
            // The pipe's write end lands on 5 and the socket on 7; 3, 4 and 6 must be closed, as must every JVM fd.
            long pid = Posix.spawn(new SpawnRequest("/bin/sh",
                    List.of("sh", "-c", "for fd in /proc/$$/fd/*; do echo ${fd##*/}; done"),
                    environment(), null, List.of(new Placement(output, 1), new Placement(pipe[1], 5),
                            new Placement(listener, 7)), SpawnRequest.Grouping.INHERIT));
            assertEquals(0, waitFor(pid));
            List<String> fds = Files.readAllLines(out);
            assertTrue(fds.containsAll(List.of("0", "1", "2", "5", "7")), fds.toString());
            assertTrue(fds.stream().allMatch(fd -> Integer.parseInt(fd) <= 7 && !fd.equals("4") && !fd.equals("6")),
                    "only the placements above 2 (the shell may hold one more below 5 for the glob): " + fds);
        } finally {
            Posix.close(listener);
            Posix.close(pipe[0]);
            Posix.close(pipe[1]);
            Posix.close(output);
        }
    }

    @Test
    void aFarPlacementClosesOnlyTheDescriptorsThatAreOpen() throws Exception {
        // fds 0-9 and 12 are open; the socket at 11 goes to 19990 in the child.
        List<Integer> open = List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12);
        List<Posix.FileAction> actions = Posix.fileActions(List.of(new Placement(11, 19990)), open);
        List<Integer> closed = actions.stream().filter(a -> a.kind() == Posix.FileAction.Kind.CLOSE)
                .map(Posix.FileAction::fd).toList();
        assertEquals(List.of(3, 4, 5, 6, 7, 8, 9, 11, 12), closed);
        assertEquals(new Posix.FileAction(Posix.FileAction.Kind.CLOSE_FROM, 19991, 0), actions.get(actions.size() - 1));
        assertEquals(2 + closed.size() + 1, actions.size(), "two dup2s, the closes, one closefrom: " + actions);
    }

    @Test
    void aSocketPlacedFarAwayArrivesAloneThere() throws Exception {
        int listener = Posix.socket(Posix.AF_INET, Posix.SOCK_STREAM);
        Path out = dir.resolve("fds");
        int output = Posix.openAppend(out.toString(), false);
        try {
            long pid = Posix.spawn(new SpawnRequest("/bin/sh",
                    List.of("sh", "-c", "for fd in /proc/$$/fd/*; do echo ${fd##*/}; done"), environment(), null,
                    List.of(new Placement(output, 1), new Placement(listener, 19990)), SpawnRequest.Grouping.INHERIT));
            assertEquals(0, waitFor(pid));
            List<String> fds = Files.readAllLines(out);
            assertTrue(fds.containsAll(List.of("0", "1", "2", "19990")), fds.toString());
            assertTrue(fds.stream().allMatch(fd -> fd.equals("19990") || Integer.parseInt(fd) <= 3),
                    "only the placement (and the shell's glob) above 2: " + fds);
        } finally {
            Posix.close(listener);
            Posix.close(output);
        }
    }

    @Test
    void exitStatusesAreRawWaitStatuses() throws Exception {
        long exits = Posix.spawn(new SpawnRequest("/bin/sh", List.of("sh", "-c", "exit 3"), environment(), null,
                List.of(), SpawnRequest.Grouping.INHERIT));
        assertEquals(3 << 8, waitFor(exits));
        long sleeper = Posix.spawn(new SpawnRequest("/bin/sleep", List.of("sleep", "30"), environment(), null,
                List.of(), SpawnRequest.Grouping.INHERIT));
        assertEquals(-1, Posix.reap(sleeper));
        Posix.kill(sleeper, Signals.TERM);
        assertEquals(Signals.TERM, waitFor(sleeper));
    }

    @Test
    void spawnErrorsComeBackAtOnce() {
        ErrnoException missing = assertThrows(ErrnoException.class, () -> Posix.spawn(new SpawnRequest(
                "/nonexistent/program", List.of("program"), environment(), null, List.of(),
                SpawnRequest.Grouping.INHERIT)));
        assertEquals(2, missing.errno());
        ErrnoException noDir = assertThrows(ErrnoException.class, () -> Posix.spawn(new SpawnRequest(
                "/bin/true", List.of("true"), environment(), "/nonexistent/dir", List.of(),
                SpawnRequest.Grouping.INHERIT)));
        assertEquals(2, noDir.errno());
    }

    @Test
    void theWorkingDirectoryAndEnvironmentAreTheChildsOnly() throws Exception {
        Path out = dir.resolve("cwd");
        int output = Posix.openAppend(out.toString(), false);
        try {
            long pid = Posix.spawn(new SpawnRequest("/bin/sh", List.of("sh", "-c", "echo \"$PWD $ONLY_HERE\""),
                    List.of("ONLY_HERE=yes", "PATH=/usr/bin:/bin"), dir.toString(), List.of(new Placement(output, 1)),
                    SpawnRequest.Grouping.INHERIT));
            assertEquals(0, waitFor(pid));
        } finally {
            Posix.close(output);
        }
        assertEquals(dir + " yes", Files.readString(out).trim());
        assertEquals(null, System.getenv("ONLY_HERE"));
    }

    @Test
    void bindErrorsCarryErrnoAndReason() throws Exception {
        int first = Posix.socket(Posix.AF_INET, Posix.SOCK_STREAM);
        int second = Posix.socket(Posix.AF_INET, Posix.SOCK_STREAM);
        try {
            Posix.bind(first, InetAddress.getByName("127.0.0.1"), 0);
            Posix.listen(first, 1);
            String address = Posix.localAddress(first);
            assertTrue(address.startsWith("127.0.0.1:"), address);
            int port = Integer.parseInt(address.substring("127.0.0.1:".length()));
            ErrnoException inUse = assertThrows(ErrnoException.class,
                    () -> Posix.bind(second, InetAddress.getByName("127.0.0.1"), port));
            assertEquals(98, inUse.errno());
            assertEquals("Address already in use", inUse.getMessage());
        } finally {
            Posix.close(first);
            Posix.close(second);
        }
    }

    @Test
    void flockExcludesAnotherOpenFile() throws Exception {
        Path file = dir.resolve("lock");
        int a = Posix.openReadWrite(file.toString(), true);
        int b = Posix.openReadWrite(file.toString(), false);
        try {
            assertTrue(Posix.tryLockExclusive(a));
            assertFalse(Posix.tryLockExclusive(b));
        } finally {
            Posix.close(a);
        }
        try {
            assertTrue(Posix.tryLockExclusive(b), "closing the holder releases the lock");
        } finally {
            Posix.close(b);
        }
    }

    @Test
    void datagramsCarryTheSendersPid() throws Exception {
        Path socket = dir.resolve("notify");
        int receiver = Posix.socket(Posix.AF_UNIX, Posix.SOCK_DGRAM);
        int sender = Posix.socket(Posix.AF_UNIX, Posix.SOCK_DGRAM);
        try {
            Posix.bind(receiver, socket.toString());
            Posix.setPassCredentials(receiver);
            assertEquals(socket.toString(), Posix.localAddress(receiver));
            Posix.send(sender, socket.toString(), "READY=1\nSTATUS=up");
            Posix.Datagram d = Posix.receive(receiver);
            assertEquals(ProcessHandle.current().pid(), d.senderPid());
            assertEquals("READY=1\nSTATUS=up", d.text());
        } finally {
            Posix.close(receiver);
            Posix.close(sender);
        }
    }

    @Test
    void signalNamesAreNormalisedAndChecked() {
        assertEquals("USR1", Signals.normalise("sigusr1", "TERM"));
        assertEquals("TERM", Signals.normalise("", "TERM"));
        assertEquals(10, Signals.number("USR1").getAsInt());
        assertEquals(9, Signals.number("9").getAsInt());
        assertFalse(Signals.number("FOO").isPresent());
        assertFalse(Signals.number("99").isPresent());
    }

}

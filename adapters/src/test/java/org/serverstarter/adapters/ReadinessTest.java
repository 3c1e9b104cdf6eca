package org.serverstarter.adapters;

import org.serverstarter.adapters.internal.Notify;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.serverstarter.testkit.NotifyReceiver;
import org.serverstarter.testkit.Stderr;

/** Sends from this JVM to a real receiver (python3 with SO_PASSCRED), which checks the kernel-reported sender pid. */
@Timeout(60)
class ReadinessTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final long OWN_PID = ProcessHandle.current().pid();

    @TempDir
    Path dir;

    @Test
    void sendsToAPath() throws Exception {
        try (NotifyReceiver receiver = NotifyReceiver.bind(dir.resolve("notify").toString())) {
            assertTrue(Notify.send(receiver.address(), "READY=1"));
            assertEquals("READY=1", receiver.await("READY=1", OWN_PID, WAIT).text());
        }
    }

    @Test
    void sendsToAnAbstractName() throws Exception {
        try (NotifyReceiver receiver = NotifyReceiver.bind("@serverstarter-test-" + UUID.randomUUID())) {
            assertTrue(Notify.send(receiver.address(), "STOPPING=1"));
            assertEquals("STOPPING=1", receiver.await("STOPPING=1", OWN_PID, WAIT).text());
        }
    }

    @Test
    void sendsSeveralLinesAsOneDatagram() throws Exception {
        try (NotifyReceiver receiver = NotifyReceiver.bind(dir.resolve("notify").toString())) {
            assertTrue(Notify.send(receiver.address(), "STATUS=warm\nREADY=1"));
            assertTrue(Notify.send(receiver.address(), "STOPPING=1"));
            receiver.await("STOPPING=1", OWN_PID, WAIT);
            assertEquals(List.of(new NotifyReceiver.Notification(OWN_PID, "STATUS=warm\nREADY=1"),
                    new NotifyReceiver.Notification(OWN_PID, "STOPPING=1")), receiver.received());
        }
    }

    @Test
    void doesNothingWithoutAnAddress() {
        assertEquals("", Stderr.of(() -> {
            assertFalse(Notify.send(null, "READY=1"));
            assertFalse(Notify.send("", "READY=1"));
        }));
    }

    @Test
    void reportsAFailedSendInOneLine() {
        Path missing = dir.resolve("nobody-listens");
        assertEquals("Readiness: cannot send READY=1 to NOTIFY_SOCKET=" + missing
                + ": sendto: No such file or directory (errno 2)\n",
                Stderr.of(() -> assertFalse(Notify.send(missing.toString(), "READY=1"))));
    }

    @Test
    void refusesAddressesThatAreNotUnixSocketNames() {
        assertEquals("Readiness: cannot send READY=1 to NOTIFY_SOCKET=run/notify: "
                + "not an absolute path nor an abstract name starting with '@'\n",
                Stderr.of(() -> assertFalse(Notify.send("run/notify", "READY=1"))));
        String tooLong = "/" + "x".repeat(107);
        assertEquals("Readiness: cannot send READY=1 to NOTIFY_SOCKET=" + tooLong
                + ": a unix socket name has 1 to 107 bytes\n",
                Stderr.of(() -> assertFalse(Notify.send(tooLong, "READY=1"))));
        assertEquals("Readiness: cannot send READY=1 to NOTIFY_SOCKET=@: a unix socket name has 1 to 107 bytes\n",
                Stderr.of(() -> assertFalse(Notify.send("@", "READY=1"))));
    }
}

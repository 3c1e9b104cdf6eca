package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;

/**
 * The receiving end of the sd_notify protocol for {@code --readiness=notify}: a unix datagram socket in a private
 * directory, given to workers as {@code NOTIFY_SOCKET}. A thread of its own waits for datagrams and hands each
 * {@code READY=1} to the supervisor as {@code "READY pid,parent,grandparent,…"}: the sender as the kernel names it
 * (SCM_CREDENTIALS, so nobody can claim another pid) and its ancestors, read at once, so that the supervisor accepts
 * READY=1 from a worker or anything it started, and from nobody else. {@code STATUS=} and {@code STOPPING=1} are
 * accepted and ignored.
 */
final class NotifyListener {
    static final String READY_EVENT = "READY ";

    private final Path directory;
    private final Path socket;
    private final int fd;

    private NotifyListener(Path directory, Path socket, int fd) {
        this.directory = directory;
        this.socket = socket;
        this.fd = fd;
    }

    static NotifyListener open(Consumer<String> post) {
        Path directory;
        try {
            directory = Files.createTempDirectory("start_server-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw Errors.fatal("failed to create the notify socket directory:", e);
        }
        Path socket = directory.resolve("notify");
        int fd;
        try {
            fd = Posix.socket(Posix.AF_UNIX, Posix.SOCK_DGRAM);
            Posix.bind(fd, socket.toString());
            Posix.setPassCredentials(fd);
        } catch (ErrnoException e) {
            throw Fatal.of("failed to create the notify socket " + socket + ":", e);
        }
        NotifyListener listener = new NotifyListener(directory, socket, fd);
        Thread reader = new Thread(() -> listener.read(post), "notify-socket");
        reader.setDaemon(true); // blocked in recvmsg until the process exits
        reader.start();
        return listener;
    }

    private void read(Consumer<String> post) {
        while (true) {
            Posix.Datagram datagram;
            try {
                datagram = Posix.receive(fd);
            } catch (ErrnoException e) {
                return;
            }
            if (datagram.senderPid() > 0 && datagram.text().lines().anyMatch("READY=1"::equals)) {
                post.accept(READY_EVENT + String.join(",", lineage(datagram.senderPid())));
            }
        }
    }

    private static List<String> lineage(long pid) {
        List<String> pids = new ArrayList<>();
        pids.add(Long.toString(pid));
        Optional<ProcessHandle> p = ProcessHandle.of(pid).flatMap(ProcessHandle::parent);
        for (int depth = 0; p.isPresent() && depth < 32; depth++) {
            pids.add(Long.toString(p.get().pid()));
            p = p.get().parent();
        }
        return pids;
    }

    /** Whether a READY event came from {@code worker} or one of its descendants. */
    static boolean isFrom(String readyEvent, long worker) {
        String w = Long.toString(worker);
        for (String pid : readyEvent.substring(READY_EVENT.length()).split(",")) {
            if (pid.equals(w)) {
                return true;
            }
        }
        return false;
    }

    String path() {
        return socket.toString();
    }

    void remove() {
        try {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(directory);
        } catch (IOException ignored) {
            // Exiting anyway.
        }
    }
}

package org.serverstarter.superdaemon.server;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;

/**
 * The receiving end of the sd_notify protocol for {@code --readiness=notify}: a unix datagram socket with a random
 * name in Linux's abstract namespace, given to workers as {@code NOTIFY_SOCKET=@name}. It has no file, so nothing is
 * left behind whatever way start_server ends, and workers that run as another user can reach it. Anyone on the host
 * could send to it, so nobody's word is taken: a thread of its own waits for datagrams and hands each
 * {@code READY=1} to the supervisor as an {@link Event.Ready}: the sender as the kernel names it
 * (SCM_CREDENTIALS, so nobody can claim another pid) and its ancestors, read at once, so that the supervisor accepts
 * READY=1 from a worker or anything it started, and from nobody else. {@code STATUS=} and {@code STOPPING=1} are
 * accepted and ignored.
 */
final class NotifyListener {
    private final String name;
    private final int fd;

    private NotifyListener(String name, int fd) {
        this.name = name;
        this.fd = fd;
    }

    static NotifyListener open(Consumer<Event> post) {
        byte[] random = new byte[12];
        new SecureRandom().nextBytes(random);
        String name = "@start_server-" + ProcessHandle.current().pid() + "-" + HexFormat.of().formatHex(random);
        int fd;
        try {
            fd = Posix.socket(Posix.AF_UNIX, Posix.SOCK_DGRAM);
            Posix.bind(fd, name);
            Posix.setPassCredentials(fd);
        } catch (ErrnoException e) {
            throw Fatal.of("failed to create the notify socket " + name + ":", e);
        }
        NotifyListener listener = new NotifyListener(name, fd);
        Thread reader = new Thread(() -> listener.read(post), "notify-socket");
        reader.setDaemon(true); // blocked in recvmsg until the process exits
        reader.start();
        return listener;
    }

    private void read(Consumer<Event> post) {
        while (true) {
            Posix.Datagram datagram;
            try {
                datagram = Posix.receive(fd);
            } catch (ErrnoException e) {
                return;
            }
            if (datagram.senderPid() > 0 && datagram.text().lines().anyMatch("READY=1"::equals)) {
                post.accept(new Event.Ready(lineage(datagram.senderPid())));
            }
        }
    }

    private static List<Long> lineage(long pid) {
        List<Long> pids = new ArrayList<>();
        pids.add(pid);
        Optional<ProcessHandle> p = ProcessHandle.of(pid).flatMap(ProcessHandle::parent);
        for (int depth = 0; p.isPresent() && depth < 32; depth++) {
            pids.add(p.get().pid());
            p = p.get().parent();
        }
        return pids;
    }

    /** The value of {@code NOTIFY_SOCKET}. */
    String address() {
        return name;
    }
}

package org.serverstarter.superdaemon.server;

import java.util.ArrayList;
import java.util.List;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;

/**
 * What start_server does when systemd started it: it takes the listening sockets of socket activation
 * ({@code LISTEN_FDS}, {@code LISTEN_PID}) instead of binding, and reports its state over {@code NOTIFY_SOCKET}
 * ({@code Type=notify} or {@code notify-reload}): {@code READY=1} with {@code MAINPID} once the first generation has
 * started, {@code RELOADING=1} and {@code READY=1} around every restart, {@code STOPPING=1} at shutdown. None of
 * these variables reaches the workers, which get the sockets the usual way, through SERVER_STARTER_PORT.
 */
final class Systemd {
    static final List<String> VARIABLES = List.of("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET");
    private static final int FIRST_FD = 3;
    private static final int MAX_FDS = 4096;

    private final String notifySocket;
    private final int fd;

    private Systemd(String notifySocket, int fd) {
        this.notifySocket = notifySocket;
        this.fd = fd;
    }

    /** The notifier when {@code NOTIFY_SOCKET} is set, else null. */
    static Systemd notifier(String notifySocket) {
        if (notifySocket == null || notifySocket.isEmpty()) {
            return null;
        }
        try {
            return new Systemd(notifySocket, Posix.socket(Posix.AF_UNIX, Posix.SOCK_DGRAM));
        } catch (ErrnoException e) {
            throw Fatal.of("failed to create a socket for NOTIFY_SOCKET:", e);
        }
    }

    /**
     * The sockets systemd passed, or null when it passed none to this process (LISTEN_PID names another one, as it
     * does when the variables were merely inherited).
     */
    static List<Integer> activatedFds(String listenFds, String listenPid) {
        if (listenFds == null || listenPid == null
                || !listenPid.equals(Long.toString(ProcessHandle.current().pid()))) {
            return null;
        }
        // systemd passes a handful; a value no process could hold is refused before anything is allocated for it.
        if (!listenFds.matches("\\d{1,5}") || Integer.parseInt(listenFds) > MAX_FDS) {
            throw Fatal.of("invalid LISTEN_FDS value:" + listenFds);
        }
        int count = Integer.parseInt(listenFds);
        List<Integer> fds = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            fds.add(FIRST_FD + i);
        }
        return fds;
    }

    /** Sends one notification; a failure is logged, never fatal: systemd may be gone while we stop. */
    void send(String message) {
        try {
            Posix.send(fd, notifySocket, message);
        } catch (ErrnoException e) {
            System.err.println("failed to notify systemd (" + notifySocket + "):" + e.getMessage());
        }
    }

    void ready(long generation, long workerPid) {
        send("READY=1\nMAINPID=" + ProcessHandle.current().pid() + "\nSTATUS=generation " + generation
                + " (pid " + workerPid + ") is serving");
    }

    void reloading() {
        // MONOTONIC_USEC is CLOCK_MONOTONIC, which is what System.nanoTime reads on Linux.
        send("RELOADING=1\nMONOTONIC_USEC=" + System.nanoTime() / 1000 + "\nSTATUS=starting a new generation");
    }

    void stopping() {
        send("STOPPING=1\nSTATUS=stopping every worker");
    }
}

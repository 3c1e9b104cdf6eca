package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.StringJoiner;

import org.serverstarter.superdaemon.cli.PortSpec;
import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.SpawnRequest.Placement;

/**
 * The listening sockets: every {@code --port} in order, then every {@code --path}, bound once and handed to each
 * worker at the fd it is told about in {@code SERVER_STARTER_PORT}.
 *
 * <p>In the superdaemon the sockets sit wherever the kernel put them (close-on-exec); they are placed at their
 * worker fds only in the child, so an {@code =FD} request can never clobber one of the JVM's own descriptors or
 * another socket (Perl's dup2 in the parent did both).
 */
final class Listeners {
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;
    private static final int EEXIST = 17;
    private static final int EADDRINUSE = 98;

    private record Listener(String envKey, int fd, int workerFd) {
    }

    private final List<Listener> listeners = new ArrayList<>();

    private Listeners() {
    }

    static Listeners bind(List<PortSpec> ports, List<String> paths, int pathMode, int backlog, boolean logFile,
                          Cleanup cleanup) {
        List<Integer> workerFds = workerFds(ports, paths.size(), logFile);
        List<InetAddress> addresses = new ArrayList<>();
        for (PortSpec spec : ports) {
            addresses.add(resolve(spec));
        }
        Listeners result = new Listeners();
        for (int i = 0; i < ports.size(); i++) {
            PortSpec spec = ports.get(i);
            int fd = bindInet(spec, addresses.get(i), backlog);
            cleanup.add(() -> Posix.close(fd));
            if (spec.requestedFd().isPresent()) {
                System.err.println("socket is duplicated to file descriptor " + spec.requestedFd().getAsInt());
            }
            result.listeners.add(new Listener(spec.envKey(), fd, workerFds.get(i)));
        }
        for (int i = 0; i < paths.size(); i++) {
            String path = paths.get(i);
            int fd = bindUnix(path, pathMode, backlog, cleanup);
            result.listeners.add(new Listener(path, fd, workerFds.get(ports.size() + i)));
        }
        return result;
    }

    /**
     * The fd each socket gets in the worker: the requested one for {@code =FD}, otherwise the number Perl's
     * start_server would have given it (the lowest free one, counting fd 3 as Perl's script handle and fd 4 as the
     * log when there is one), so that SERVER_STARTER_PORT reads the same under both. Requested numbers are reserved
     * first, so a socket can never land on one of them; two requests for one fd are an error.
     */
    static List<Integer> workerFds(List<PortSpec> ports, int pathCount, boolean logFile) {
        Set<Integer> requested = new HashSet<>();
        for (PortSpec spec : ports) {
            if (spec.requestedFd().isPresent() && !requested.add(spec.requestedFd().getAsInt())) {
                throw Fatal.of("more than one socket requests file descriptor " + spec.requestedFd().getAsInt());
            }
        }
        Set<Integer> taken = new HashSet<>(List.of(0, 1, 2, 3));
        if (logFile) {
            taken.add(4);
        }
        taken.addAll(requested);
        List<Integer> fds = new ArrayList<>();
        int next = 3;
        for (int i = 0; i < ports.size() + pathCount; i++) {
            if (i < ports.size() && ports.get(i).requestedFd().isPresent()) {
                fds.add(ports.get(i).requestedFd().getAsInt());
                continue;
            }
            while (taken.contains(next)) {
                next++;
            }
            taken.add(next);
            fds.add(next);
        }
        return fds;
    }

    private static InetAddress resolve(PortSpec spec) {
        try {
            if (spec.host() == null) {
                return InetAddress.getByAddress(new byte[4]);
            }
            if (spec.isIpv6()) {
                // A literal only: with a ':' in it, getByName parses and never asks a resolver.
                return InetAddress.getByName(spec.host());
            }
            for (InetAddress address : InetAddress.getAllByName(spec.host())) {
                if (address instanceof Inet4Address) {
                    return address;
                }
            }
            throw new UnknownHostException("no IPv4 address");
        } catch (UnknownHostException e) {
            throw Fatal.of("failed to resolve host:" + spec.host() + ":"
                    + (spec.isIpv6() ? "Invalid argument" : "Name or service not known"));
        }
    }

    private static int bindInet(PortSpec spec, InetAddress address, int backlog) {
        int fd;
        try {
            fd = Posix.socket(spec.isIpv6() ? Posix.AF_INET6 : Posix.AF_INET,
                    spec.datagram() ? Posix.SOCK_DGRAM : Posix.SOCK_STREAM);
        } catch (ErrnoException e) {
            throw Fatal.of("failed to create socket:", e);
        }
        try {
            Posix.setReuseAddress(fd);
            if (spec.isIpv6()) {
                Posix.setV6Only(fd);
            }
            Posix.bind(fd, address, spec.port());
        } catch (ErrnoException e) {
            Posix.close(fd);
            throw Fatal.of("failed to bind to " + spec.envKey() + ":", e);
        }
        if (!spec.datagram()) {
            try {
                Posix.listen(fd, backlog);
            } catch (ErrnoException e) {
                Posix.close(fd);
                throw Fatal.of("listen(2) failed:", e);
            }
        }
        return fd;
    }

    /**
     * Binds and listens on a unix socket. A socket file already at the path is replaced only when nothing accepts on
     * it: a running server (another start_server, or the orphaned workers of a killed one) keeps its socket. The mode
     * is set before {@code listen}, so nobody connects through a wider mode in between; the process-wide umask is
     * never touched, other threads may be creating files.
     */
    private static int bindUnix(String path, int mode, int backlog, Cleanup cleanup) {
        Path file = Path.of(path);
        // To the kernel a leading '@' names the abstract namespace; Perl's start_server makes a file of that name.
        String name = path.startsWith("@") ? "./" + path : path;
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            if (!isSocket(file)) {
                // Perl deletes whatever is there without a word; a regular file is not ours to delete.
                throw new Fatal("failed to listen to file " + path + ":File exists (and is not a socket)", 17);
            }
            try {
                if (Posix.unixSocketAccepts(name)) {
                    throw new Fatal("failed to listen to file " + path
                            + ":Address already in use (a process accepts connections on it)", EADDRINUSE);
                }
            } catch (ErrnoException e) {
                throw Fatal.of("failed to check existing socket file " + path + ":", e);
            }
            System.err.println("removing existing socket file:" + path);
            try {
                Files.delete(file);
            } catch (IOException e) {
                throw Errors.fatal("failed to remove existing socket file:" + path + ":", e);
            }
        }
        int fd;
        try {
            fd = Posix.socket(Posix.AF_UNIX, Posix.SOCK_STREAM);
        } catch (ErrnoException e) {
            throw Fatal.of("failed to create socket:", e);
        }
        cleanup.add(() -> Posix.close(fd));
        try {
            Posix.bind(fd, name);
            long inode = claim(name, mode);
            removeOnExit(file, inode, cleanup);
            Posix.listen(fd, backlog);
        } catch (ErrnoException e) {
            throw Fatal.of("failed to listen to file " + path + ":", e);
        }
        return fd;
    }

    /**
     * Sets the mode of the socket file just bound, through a handle that follows no link, and returns its inode; but
     * only if what is at the name now is a socket of ours with one name: in a directory others may write to, the
     * file may have been swapped for a link to another socket, whose mode must not change.
     */
    static long claim(String path, int mode) throws ErrnoException {
        int handle = Posix.openPathNoFollow(path);
        try {
            Posix.FileStatus file = Posix.status(handle);
            if (!file.isSocket() || file.links() != 1 || file.uid() != Posix.effectiveUid()) {
                throw new ErrnoException(EEXIST, "File exists (replaced while it was bound)");
            }
            Posix.chmod(handle, mode);
            return file.inode();
        } finally {
            Posix.close(handle);
        }
    }

    /** Only our own socket is removed: another start_server may have replaced the file since. */
    private static void removeOnExit(Path file, Object inode, Cleanup cleanup) {
        cleanup.add(() -> {
            if (isSocket(file) && Objects.equals(inode(file), inode)) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // Exiting anyway.
                }
            }
        });
    }

    /**
     * The sockets a daemonized start_server inherited from its foreground half ({@link Daemon}), at the fds given
     * in command-line order.
     */
    static Listeners adopt(List<PortSpec> ports, List<String> paths, List<Integer> fds, boolean logFile,
                           Cleanup cleanup) {
        if (fds.size() != ports.size() + paths.size()) {
            throw Fatal.of("inherited " + fds.size() + " sockets for " + (ports.size() + paths.size()) + " listeners");
        }
        List<Integer> workerFds = workerFds(ports, paths.size(), logFile);
        Listeners result = new Listeners();
        for (int i = 0; i < fds.size(); i++) {
            String key = i < ports.size() ? ports.get(i).envKey() : paths.get(i - ports.size());
            result.listeners.add(new Listener(key, fds.get(i), workerFds.get(i)));
            if (i >= ports.size()) {
                removeOnExit(Path.of(key), inode(Path.of(key)), cleanup);
            }
        }
        return result;
    }

    /** Sockets from systemd's socket activation, described by the addresses they are bound to. */
    static Listeners activated(List<Integer> fds, boolean logFile) {
        List<Integer> workerFds = workerFds(List.of(), fds.size(), logFile);
        Listeners result = new Listeners();
        for (int i = 0; i < fds.size(); i++) {
            String key;
            try {
                key = Posix.localAddress(fds.get(i));
            } catch (ErrnoException e) {
                throw Fatal.of("LISTEN_FDS: fd " + fds.get(i) + " is not a usable socket:", e);
            }
            result.listeners.add(new Listener(key, fds.get(i), workerFds.get(i)));
        }
        return result;
    }

    List<Integer> fds() {
        return listeners.stream().map(Listener::fd).toList();
    }

    private static boolean isSocket(Path file) {
        try {
            int mode = (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return (mode & S_IFMT) == S_IFSOCK;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static Object inode(Path file) {
        try {
            return Files.getAttribute(file, "unix:ino", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The value of SERVER_STARTER_PORT: {@code SPEC=FD} entries joined with {@code ;} (empty with no sockets). */
    String serverStarterPort() {
        StringJoiner joined = new StringJoiner(";");
        for (Listener l : listeners) {
            joined.add(l.envKey() + "=" + l.workerFd());
        }
        return joined.toString();
    }

    List<Placement> placements() {
        List<Placement> placements = new ArrayList<>();
        for (Listener l : listeners) {
            placements.add(new Placement(l.fd(), l.workerFd()));
        }
        return placements;
    }

    /**
     * The lowest fd from 3 up that no socket takes in the worker, for the lifeline (fd 3 is free in our workers;
     * Perl's numbering only counts it as taken so that SERVER_STARTER_PORT reads the same under both).
     */
    int spareWorkerFd() {
        Set<Integer> taken = new HashSet<>();
        listeners.forEach(l -> taken.add(l.workerFd()));
        int fd = 3;
        while (taken.contains(fd)) {
            fd++;
        }
        return fd;
    }
}

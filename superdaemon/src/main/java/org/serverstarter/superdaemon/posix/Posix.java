package org.serverstarter.superdaemon.posix;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * The one door to the operating system: sockets, spawning, signals, waiting, locks. Every method checks its return
 * code and throws {@link ErrnoException} with the OS's text, so callers can print Perl's messages
 * ({@code failed to bind to SPEC:REASON}) and exit with the errno as Perl's {@code die} does.
 *
 * <p>Linux only: the constants are Linux's (x86_64 and aarch64 share them), and spawning uses glibc's
 * {@code posix_spawn_file_actions_addchdir_np} and {@code addclosefrom_np} (glibc 2.34 or newer).
 *
 * <p>The library is loaded on first use, which costs a few tens of milliseconds; {@code --help} and
 * {@code --version} never touch this class.
 */
public final class Posix {
    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    /** {@code SOMAXCONN} of the C headers, which is what Perl passes when {@code --backlog} is not given. */
    public static final int SOMAXCONN = 4096;

    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int SOL_SOCKET = 1;
    private static final int SO_REUSEADDR = 2;
    private static final int SO_PASSCRED = 16;
    private static final int SO_PEERCRED = 17;
    private static final int SO_RCVTIMEO = 20;
    private static final int SO_SNDTIMEO = 21;
    private static final int SCM_RIGHTS = 1;
    private static final int SCM_CREDENTIALS = 2;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int DATAGRAM_SIZE = 4096;
    private static final int IPPROTO_IPV6 = 41;
    private static final int IPV6_V6ONLY = 26;
    private static final int O_CLOEXEC = 0x80000;
    private static final int O_RDONLY = 0;
    private static final int O_WRONLY = 1;
    private static final int O_RDWR = 2;
    private static final int O_CREAT = 0x40;
    private static final int O_APPEND = 0x400;
    private static final int O_NONBLOCK = 0x800;
    private static final int O_PATH = 0x200000;
    /** The one open flag used here whose value differs between x86_64 and aarch64. */
    private static final int O_NOFOLLOW = "aarch64".equals(System.getProperty("os.arch")) ? 0x8000 : 0x20000;
    private static final int SOCK_NONBLOCK = 0x800;
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final int F_GETFD = 1;
    private static final int F_SETFD = 2;
    private static final int FD_CLOEXEC = 1;
    private static final int MFD_CLOEXEC = 1;
    private static final int SIG_BLOCK = 0;
    private static final int SIG_UNBLOCK = 1;
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int EAGAIN = 11;
    private static final int ECONNREFUSED = 111;
    private static final int ENOENT = 2;
    private static final int EBADF = 9;
    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;
    private static final int WNOHANG = 1;
    private static final int EINTR = 4;
    private static final int EWOULDBLOCK = EAGAIN;
    private static final long SIG_DFL = 0;
    private static final long SIG_IGN = 1;
    private static final short POSIX_SPAWN_SETPGROUP = 0x02;
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    private static final short POSIX_SPAWN_SETSID = 0x80;
    // Opaque glibc structures, allocated generously: 80, 336 and 128 bytes on x86_64.
    private static final int FILE_ACTIONS_SIZE = 256;
    private static final int SPAWN_ATTR_SIZE = 512;
    private static final int SIGSET_SIZE = 256;

    private Posix() {
    }

    private static final class Lib {
        static final LibC C = LibraryLoader.create(LibC.class).load("c");
        static final Runtime RUNTIME = Runtime.getRuntime(C);
    }

    /**
     * Loads the native library, or returns why it cannot be loaded, so that start-up can fail with one line instead
     * of a stack trace at the first socket.
     */
    public static Throwable unavailabilityCause() {
        try {
            Lib.C.getClass();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    private static LibC c() {
        return Lib.C;
    }

    private static ErrnoException lastError() {
        int errno = LastError.getLastError(Lib.RUNTIME);
        return new ErrnoException(errno, strerror(errno));
    }

    private static ErrnoException error(int errno) {
        return new ErrnoException(errno, strerror(errno));
    }

    public static String strerror(int errno) {
        return c().strerror(errno);
    }

    // ---- sockets -------------------------------------------------------------------------------------------------

    /** A close-on-exec socket; the spawn file actions decide what a worker inherits. */
    public static int socket(int family, int type) throws ErrnoException {
        int fd = c().socket(family, type | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw lastError();
        }
        return fd;
    }

    public static void setReuseAddress(int fd) throws ErrnoException {
        check(c().setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, new int[] {1}, 4));
    }

    public static void setV6Only(int fd) throws ErrnoException {
        check(c().setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, new int[] {1}, 4));
    }

    /** Asks the kernel to attach the sender's pid to every datagram (SCM_CREDENTIALS). */
    public static void setPassCredentials(int fd) throws ErrnoException {
        check(c().setsockopt(fd, SOL_SOCKET, SO_PASSCRED, new int[] {1}, 4));
    }

    /** A datagram and the pid the kernel says sent it (0 when it came without credentials). */
    public record Datagram(long senderPid, String text) {
    }

    /**
     * Waits for one datagram on a unix socket that has {@link #setPassCredentials}. Descriptors someone passed along
     * (SCM_RIGHTS) are closed at once: nothing here expects them.
     */
    public static Datagram receive(int fd) throws ErrnoException {
        Runtime rt = Lib.RUNTIME;
        Pointer buffer = Memory.allocateDirect(rt, DATAGRAM_SIZE);
        Pointer control = Memory.allocateDirect(rt, 256);
        Pointer iov = Memory.allocateDirect(rt, 16);
        Pointer message = Memory.allocateDirect(rt, 56);
        iov.putAddress(0, buffer.address());
        iov.putLong(8, DATAGRAM_SIZE);
        while (true) {
            // struct msghdr on LP64: name, namelen, iov, iovlen, control, controllen, flags
            message.putAddress(0, 0L);
            message.putInt(8, 0);
            message.putAddress(16, iov.address());
            message.putLong(24, 1);
            message.putAddress(32, control.address());
            message.putLong(40, 256);
            message.putInt(48, 0);
            long n = c().recvmsg(fd, message, MSG_CMSG_CLOEXEC);
            if (n < 0) {
                ErrnoException e = lastError();
                if (e.errno() == EINTR) {
                    continue;
                }
                throw e;
            }
            long senderPid = 0;
            long controlLength = message.getLong(40);
            // struct cmsghdr: len (size_t), level (int), type (int), data aligned to 8
            for (long offset = 0; offset + 16 <= controlLength; ) {
                long length = control.getLong(offset);
                int level = control.getInt(offset + 8);
                int type = control.getInt(offset + 12);
                if (length < 16) {
                    break;
                }
                if (level == SOL_SOCKET && type == SCM_CREDENTIALS && length >= 28) {
                    senderPid = control.getInt(offset + 16);
                } else if (level == SOL_SOCKET && type == SCM_RIGHTS) {
                    for (long at = offset + 16; at + 4 <= offset + length; at += 4) {
                        c().close(control.getInt(at));
                    }
                }
                offset += (length + 7) & ~7L;
            }
            byte[] bytes = new byte[(int) n];
            buffer.get(0, bytes, 0, bytes.length);
            return new Datagram(senderPid, new String(bytes, StandardCharsets.UTF_8));
        }
    }

    /** Sends one datagram to a unix socket path, or to an abstract name given as {@code @name}. */
    public static void send(int fd, String socket, String text) throws ErrnoException {
        byte[] address = unixAddress(socket);
        byte[] payload = text.getBytes(StandardCharsets.UTF_8);
        if (c().sendto(fd, payload, payload.length, 0, address, address.length) < 0) {
            throw lastError();
        }
    }

    /**
     * The address a socket is bound to, as SERVER_STARTER_PORT writes it: {@code HOST:PORT}, {@code [V6]:PORT}, or
     * the unix path. For sockets handed over by systemd.
     */
    public static String localAddress(int fd) throws ErrnoException {
        byte[] address = new byte[128];
        int[] length = {address.length};
        check(c().getsockname(fd, address, length));
        int family = (address[0] & 0xff) | (address[1] & 0xff) << 8;
        int port = (address[2] & 0xff) << 8 | (address[3] & 0xff);
        try {
            if (family == AF_INET) {
                return InetAddress.getByAddress(Arrays.copyOfRange(address, 4, 8)).getHostAddress() + ":"
                        + port;
            }
            if (family == AF_INET6) {
                String host = InetAddress.getByAddress(Arrays.copyOfRange(address, 8, 24)).getHostAddress();
                return "[" + host.replaceAll("%.*$", "") + "]:" + port;
            }
        } catch (java.net.UnknownHostException impossible) {
            throw new IllegalStateException(impossible);
        }
        if (family == AF_UNIX) {
            int end = 2;
            while (end < length[0] && address[end] != 0) {
                end++;
            }
            return new String(address, 2, end - 2, StandardCharsets.UTF_8);
        }
        throw new ErrnoException(97, strerror(97)); // EAFNOSUPPORT
    }

    public static void bind(int fd, InetAddress address, int port) throws ErrnoException {
        byte[] sockaddr = sockaddr(address, port);
        check(c().bind(fd, sockaddr, sockaddr.length));
    }

    /** Binds a unix socket to a path that fits {@code sun_path} (107 bytes and a NUL), or to an {@code @name}. */
    public static void bind(int fd, String path) throws ErrnoException {
        byte[] sockaddr = unixAddress(path);
        check(c().bind(fd, sockaddr, sockaddr.length));
    }

    /**
     * Whether something listens on the unix socket at {@code path}, even with a full backlog. False only when the
     * kernel refuses the connection (the file is left over from a process that is gone) or the path has vanished.
     */
    public static boolean unixSocketAccepts(String path) throws ErrnoException {
        byte[] sockaddr = unixAddress(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK);
        try {
            if (c().connect(fd, sockaddr, sockaddr.length) == 0) {
                return true;
            }
            ErrnoException e = lastError();
            if (e.errno() == EAGAIN) {
                return true;
            }
            if (e.errno() == ECONNREFUSED || e.errno() == ENOENT) {
                return false;
            }
            throw e;
        } finally {
            close(fd);
        }
    }

    /**
     * A {@code sockaddr_un} for a path (at most 107 bytes and a NUL), or for a name in Linux's abstract namespace
     * written {@code @name}, whose length is the address's length (the '@' becomes the leading NUL).
     */
    private static byte[] unixAddress(String path) throws ErrnoException {
        byte[] name = path.getBytes(StandardCharsets.UTF_8);
        if (name.length > 107) {
            throw new ErrnoException(36, strerror(36)); // ENAMETOOLONG, as the kernel would say
        }
        // sa_family_t is little-endian on the supported platforms
        if (path.startsWith("@")) {
            byte[] sockaddr = new byte[2 + name.length]; // family, the NUL, the name without its '@'
            sockaddr[0] = (byte) AF_UNIX;
            System.arraycopy(name, 1, sockaddr, 3, name.length - 1);
            return sockaddr;
        }
        byte[] sockaddr = new byte[110];
        sockaddr[0] = (byte) AF_UNIX;
        System.arraycopy(name, 0, sockaddr, 2, name.length);
        return sockaddr;
    }

    public static void listen(int fd, int backlog) throws ErrnoException {
        check(c().listen(fd, backlog));
    }

    /** Waits for a connection on a listening socket; the new socket is close-on-exec, so no worker inherits it. */
    public static int accept(int fd) throws ErrnoException {
        while (true) {
            int connection = c().accept4(fd, null, null, SOCK_CLOEXEC);
            if (connection >= 0) {
                return connection;
            }
            ErrnoException e = lastError();
            if (e.errno() != EINTR) {
                throw e;
            }
        }
    }

    /** Connects a socket to a unix path or to an {@code @name} in the abstract namespace. */
    public static void connect(int fd, String path) throws ErrnoException {
        byte[] sockaddr = unixAddress(path);
        check(c().connect(fd, sockaddr, sockaddr.length));
    }

    /**
     * Who is at the other end of a connected unix socket, as the kernel recorded it (SO_PEERCRED): the process that
     * connected, or for the connecting side the one that called {@code listen}. Nobody can claim another's.
     */
    public record PeerCredentials(long pid, int uid, int gid) {
    }

    public static PeerCredentials peerCredentials(int fd) throws ErrnoException {
        int[] ucred = new int[3]; // struct ucred: pid_t pid, uid_t uid, gid_t gid
        int[] length = {12};
        check(c().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred, length));
        return new PeerCredentials(ucred[0], ucred[1], ucred[2]);
    }

    /**
     * Bounds every blocking send and receive on {@code fd} (SO_SNDTIMEO, SO_RCVTIMEO, which also bound a unix
     * {@code connect}): one then fails with EAGAIN instead of waiting for a peer that does not read or write.
     */
    public static void setTimeouts(int fd, long millis) throws ErrnoException {
        // struct timeval: two longs, written as little-endian int pairs as elsewhere in this class
        long seconds = millis / 1000;
        long micros = millis % 1000 * 1000;
        int[] timeval = {(int) seconds, (int) (seconds >>> 32), (int) micros, 0};
        check(c().setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, timeval, 16));
        check(c().setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval, 16));
    }

    /** Writes all of {@code bytes}; EAGAIN when a {@link #setTimeouts} bound has passed. */
    public static void writeFully(int fd, byte[] bytes) throws ErrnoException {
        for (int done = 0; done < bytes.length; ) {
            byte[] rest = Arrays.copyOfRange(bytes, done, bytes.length);
            long n = c().write(fd, rest, rest.length);
            if (n < 0) {
                ErrnoException e = lastError();
                if (e.errno() != EINTR) {
                    throw e;
                }
            } else {
                done += (int) n;
            }
        }
    }

    private static byte[] sockaddr(InetAddress address, int port) {
        byte[] raw = address.getAddress();
        byte[] sockaddr;
        if (address instanceof Inet4Address) {
            sockaddr = new byte[16];
            sockaddr[0] = (byte) AF_INET;
            System.arraycopy(raw, 0, sockaddr, 4, 4);
        } else {
            sockaddr = new byte[28];
            sockaddr[0] = (byte) AF_INET6;
            System.arraycopy(raw, 0, sockaddr, 8, 16);
            int scope = ((Inet6Address) address).getScopeId();
            sockaddr[24] = (byte) scope;
            sockaddr[25] = (byte) (scope >>> 8);
            sockaddr[26] = (byte) (scope >>> 16);
            sockaddr[27] = (byte) (scope >>> 24);
        }
        sockaddr[2] = (byte) (port >>> 8);
        sockaddr[3] = (byte) port;
        return sockaddr;
    }

    // ---- file descriptors and files ----------------------------------------------------------------------------

    /**
     * Opens a file for appending, creating it (mode 0666 less the umask), close-on-exec; through a final symbolic link
     * only if {@code followLink}.
     */
    public static int openAppend(String path, boolean followLink) throws ErrnoException {
        // Non-blocking only for the open itself, which would otherwise wait for ever for a FIFO's reader.
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | (followLink ? 0 : O_NOFOLLOW));
        int flags = c().fcntl(fd, F_GETFL, 0);
        if (flags < 0 || c().fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
            ErrnoException e = lastError();
            close(fd);
            throw e;
        }
        return fd;
    }

    /**
     * Opens a file for reading (and {@code flock}), close-on-exec, never through a symbolic link and without waiting
     * for a FIFO's writer; the caller checks with {@link #status} what it got.
     */
    public static int openReadOnlyNoFollow(String path) throws ErrnoException {
        return open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    }

    /** Opens a file for reading and writing, without truncating it, close-on-exec. */
    public static int openReadWrite(String path, boolean create) throws ErrnoException {
        return open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0));
    }

    /**
     * Opens a file for reading and writing, creating it if missing, but never through a symbolic link (ELOOP) and
     * without blocking on a FIFO; the caller checks with {@link #status} what it got.
     */
    public static int openNoFollow(String path) throws ErrnoException {
        return open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    }

    /** An {@code O_PATH} handle on whatever is at {@code path} (a socket file too), not following a link. */
    public static int openPathNoFollow(String path) throws ErrnoException {
        return open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }

    /** Replaces a file's content through its descriptor, whatever the descriptor's offset. */
    public static void replaceContent(int fd, byte[] content) throws ErrnoException {
        check(c().ftruncate(fd, 0));
        for (int done = 0; done < content.length; ) {
            byte[] rest = Arrays.copyOfRange(content, done, content.length);
            long n = c().pwrite(fd, rest, rest.length, done);
            if (n < 0) {
                ErrnoException e = lastError();
                if (e.errno() != EINTR) {
                    throw e;
                }
            } else {
                done += (int) n;
            }
        }
    }

    /** Reads what is there, up to {@code buffer.length} bytes: the count, 0 at end of file, -1 on an error. */
    public static long read(int fd, byte[] buffer) {
        while (true) {
            long n = c().read(fd, buffer, buffer.length);
            if (n >= 0 || LastError.getLastError(Lib.RUNTIME) != EINTR) {
                return n;
            }
        }
    }

    /** Reads up to {@code buffer.length} bytes from {@code offset}, whatever the descriptor's own offset. */
    public static long readAt(int fd, byte[] buffer, long offset) {
        while (true) {
            long n = c().pread(fd, buffer, buffer.length, offset);
            if (n >= 0 || LastError.getLastError(Lib.RUNTIME) != EINTR) {
                return n;
            }
        }
    }

    /** Writes all of {@code bytes}, or as much as the descriptor takes; errors are ignored (a last-resort log). */
    public static void writeQuietly(int fd, byte[] bytes) {
        for (int done = 0; done < bytes.length; ) {
            byte[] rest = Arrays.copyOfRange(bytes, done, bytes.length);
            long n = c().write(fd, rest, rest.length);
            if (n <= 0 && LastError.getLastError(Lib.RUNTIME) != EINTR) {
                return;
            }
            done += (int) Math.max(0, n);
        }
    }

    /** A close-on-exec copy of {@code fd}, numbered 3 or above. */
    public static int duplicate(int fd) throws ErrnoException {
        int copy = c().fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0) {
            throw lastError();
        }
        return copy;
    }

    /** Changes the mode of what an {@link #openPathNoFollow} handle refers to, through {@code /proc/self/fd}. */
    public static void chmod(int pathFd, int mode) throws ErrnoException {
        check(c().chmod("/proc/self/fd/" + pathFd, mode));
    }

    public static int effectiveUid() {
        return c().geteuid();
    }

    /** What {@code fstat} says of an open descriptor's file. */
    public record FileStatus(int mode, int uid, int links, long inode, long device) {
        private static final int S_IFMT = 0170000;

        public boolean isRegularFile() {
            return (mode & S_IFMT) == 0100000;
        }

        public boolean isSocket() {
            return (mode & S_IFMT) == 0140000;
        }
    }

    /**
     * {@code fstat}, read through {@code /proc/self/fd}, which names the open file itself whatever has happened to
     * its path since; this keeps {@code struct stat}'s per-architecture layout out of the binding.
     */
    public static FileStatus status(int fd) throws ErrnoException {
        try {
            var attributes = Files.readAttributes(Path.of("/proc/self/fd/" + fd),
                    "unix:mode,uid,nlink,ino,dev");
            return new FileStatus((Integer) attributes.get("mode"), (Integer) attributes.get("uid"),
                    (Integer) attributes.get("nlink"), (Long) attributes.get("ino"), (Long) attributes.get("dev"));
        } catch (IOException e) {
            throw error(EBADF);
        }
    }

    private static int open(String path, int flags) throws ErrnoException {
        int fd = c().open(path, flags, 0666);
        if (fd < 0) {
            throw lastError();
        }
        return fd;
    }

    public static void close(int fd) {
        c().close(fd);
    }

    public static void dup2(int fd, int target) throws ErrnoException {
        if (c().dup2(fd, target) < 0) {
            throw lastError();
        }
    }

    /** A close-on-exec pipe: {@code [read end, write end]}. */
    public static int[] pipe() throws ErrnoException {
        int[] fds = new int[2];
        check(c().pipe2(fds, O_CLOEXEC));
        return fds;
    }

    public static int umask(int mask) {
        return c().umask(mask);
    }

    /** Tries an exclusive {@code flock} without waiting; false if another process holds one. */
    public static boolean tryLockExclusive(int fd) throws ErrnoException {
        if (c().flock(fd, LOCK_EX | LOCK_NB) == 0) {
            return true;
        }
        ErrnoException e = lastError();
        if (e.errno() == EWOULDBLOCK) {
            return false;
        }
        throw e;
    }

    // ---- replacing this process (start_server --upgrade) -----------------------------------------------------------

    /**
     * An anonymous file in memory (memfd), close-on-exec until {@link #setCloseOnExec} says otherwise: it lives only
     * as long as a descriptor refers to it, and no other user can open it (/proc/PID/fd is the owner's).
     */
    public static int memoryFile(String name) throws ErrnoException {
        int fd = c().memfd_create(name, MFD_CLOEXEC);
        if (fd < 0) {
            throw lastError();
        }
        return fd;
    }

    /** Sets or clears {@code FD_CLOEXEC}: whether an {@link #execve} closes {@code fd}. */
    public static void setCloseOnExec(int fd, boolean closeOnExec) throws ErrnoException {
        int flags = c().fcntl(fd, F_GETFD, 0);
        if (flags < 0) {
            throw lastError();
        }
        int wanted = closeOnExec ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
        if (wanted != flags && c().fcntl(fd, F_SETFD, wanted) < 0) {
            throw lastError();
        }
    }

    /** This process's open descriptors, as /proc/self/fd lists them (the listing's own descriptor is gone by then). */
    public static List<Integer> openFds() throws ErrnoException {
        return openDescriptors();
    }

    /**
     * Blocks ({@code block}) or unblocks {@code signals} for the calling thread only. A signal sent to the process
     * goes to a thread that does not block it; one that every thread blocks stays pending, across an
     * {@code execve} too.
     */
    public static void maskSignals(boolean block, int... signals) throws ErrnoException {
        Pointer set = Memory.allocateDirect(Lib.RUNTIME, SIGSET_SIZE);
        c().sigemptyset(set);
        for (int signal : signals) {
            if (c().sigaddset(set, signal) != 0) {
                throw lastError();
            }
        }
        checkResult(c().pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, set, null));
    }

    /**
     * Replaces this process's program, keeping its pid, its children, the descriptors without close-on-exec, the
     * calling thread's signal mask and the pending signals. Returns only on failure.
     */
    public static ErrnoException execve(String path, List<String> argv, List<String> environment) {
        c().execve(path, nullTerminated(argv), nullTerminated(environment));
        return lastError();
    }

    // ---- processes and signals -----------------------------------------------------------------------------------

    /**
     * Starts a program with exactly fds 0-2 plus {@code placements}, an empty signal mask and every signal at its
     * default except those the caller ignores on purpose (PIPE, see {@link #ignoreSignal}). Errors such as a
     * missing program or directory come back here, synchronously; no child is left behind then.
     */
    public static int spawn(SpawnRequest request) throws ErrnoException {
        LibC c = c();
        Pointer actions = Memory.allocateDirect(Lib.RUNTIME, FILE_ACTIONS_SIZE);
        Pointer attributes = Memory.allocateDirect(Lib.RUNTIME, SPAWN_ATTR_SIZE);
        Pointer emptyMask = Memory.allocateDirect(Lib.RUNTIME, SIGSET_SIZE);
        Pointer defaults = Memory.allocateDirect(Lib.RUNTIME, SIGSET_SIZE);
        checkResult(c.posix_spawn_file_actions_init(actions));
        try {
            checkResult(c.posix_spawnattr_init(attributes));
            try {
                addFdActions(c, actions, request.placements());
                if (request.directory() != null) {
                    checkResult(c.posix_spawn_file_actions_addchdir_np(actions, request.directory()));
                }
                c.sigemptyset(emptyMask);
                c.sigemptyset(defaults);
                // Signals 1-64 back to default, written as bits because sigaddset refuses glibc's internal 32 and
                // 33, which posix_spawn would otherwise leave ignored in the child. PIPE stays ignored, as Perl's
                // workers have it.
                defaults.putLong(0, ~(1L << (Signals.PIPE - 1)));
                short flags = (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
                        | switch (request.grouping()) {
                            case INHERIT -> 0;
                            case OWN_GROUP -> POSIX_SPAWN_SETPGROUP;
                            case OWN_SESSION -> POSIX_SPAWN_SETSID;
                        });
                checkResult(c.posix_spawnattr_setflags(attributes, flags));
                checkResult(c.posix_spawnattr_setpgroup(attributes, 0));
                checkResult(c.posix_spawnattr_setsigmask(attributes, emptyMask));
                checkResult(c.posix_spawnattr_setsigdefault(attributes, defaults));
                int[] pid = new int[1];
                checkResult(c.posix_spawn(pid, request.path(), actions, attributes,
                        nullTerminated(request.argv()), nullTerminated(request.environment())));
                return pid[0];
            } finally {
                c.posix_spawnattr_destroy(attributes);
            }
        } finally {
            c.posix_spawn_file_actions_destroy(actions);
        }
    }

    /** One {@code posix_spawn} file action; {@code target} only for DUP2. */
    record FileAction(Kind kind, int fd, int target) {
        enum Kind { DUP2, CLOSE, CLOSE_FROM }
    }

    private static void addFdActions(LibC c, Pointer actions, List<SpawnRequest.Placement> placements)
            throws ErrnoException {
        for (FileAction action : fileActions(placements, openDescriptors())) {
            checkResult(switch (action.kind()) {
                case DUP2 -> c.posix_spawn_file_actions_adddup2(actions, action.fd(), action.target());
                case CLOSE -> c.posix_spawn_file_actions_addclose(actions, action.fd());
                case CLOSE_FROM -> c.posix_spawn_file_actions_addclosefrom_np(actions, action.fd());
            });
        }
    }

    /**
     * Places every source fd at its target number. Two passes through scratch numbers above everything involved,
     * because a source may sit on another placement's target. Every other fd from 3 up is closed: the JDK opens
     * its jars and sockets without close-on-exec. Below the highest target only the descriptors that are open
     * ({@code openFds}) need a close, so a socket placed at fd 20000 costs a few actions, not 20000.
     */
    static List<FileAction> fileActions(List<SpawnRequest.Placement> placements, List<Integer> openFds) {
        List<FileAction> actions = new ArrayList<>();
        int highest = 2;
        for (SpawnRequest.Placement p : placements) {
            highest = Math.max(highest, Math.max(p.source(), p.target()));
        }
        int scratch = highest + 1;
        for (int i = 0; i < placements.size(); i++) {
            actions.add(new FileAction(FileAction.Kind.DUP2, placements.get(i).source(), scratch + i));
        }
        Set<Integer> targets = new HashSet<>();
        int highestTarget = 2;
        for (int i = 0; i < placements.size(); i++) {
            int target = placements.get(i).target();
            targets.add(target);
            highestTarget = Math.max(highestTarget, target);
            actions.add(new FileAction(FileAction.Kind.DUP2, scratch + i, target));
        }
        for (int fd : openFds) {
            if (fd > 2 && fd < highestTarget && !targets.contains(fd)) {
                actions.add(new FileAction(FileAction.Kind.CLOSE, fd, 0));
            }
        }
        actions.add(new FileAction(FileAction.Kind.CLOSE_FROM, highestTarget + 1, 0));
        return actions;
    }

    /**
     * This process's open descriptors. A descriptor that another thread opens between the listing and the spawn
     * escapes only if it is not close-on-exec and lands in a gap below a requested {@code =FD}; start_server's other
     * threads open nothing but short reads of /proc.
     */
    private static List<Integer> openDescriptors() throws ErrnoException {
        try (var entries = Files.list(Path.of("/proc/self/fd"))) {
            return entries.map(e -> Integer.parseInt(e.getFileName().toString())).toList();
        } catch (IOException e) {
            throw error(EBADF);
        }
    }

    private static String[] nullTerminated(List<String> strings) {
        List<String> copy = new ArrayList<>(strings);
        copy.add(null);
        return copy.toArray(new String[0]);
    }

    public static void kill(long pid, int signal) throws ErrnoException {
        check(c().kill((int) pid, signal));
    }

    /**
     * Reaps {@code pid} if it has exited. Returns its raw wait status, or -1 while it runs. Only pids this process
     * spawned are ever waited for, so the JDK's own reaper is never robbed.
     */
    public static int reap(long pid) throws ErrnoException {
        int[] status = new int[1];
        while (true) {
            int r = c().waitpid((int) pid, status, WNOHANG);
            if (r == pid) {
                return status[0];
            }
            if (r == 0) {
                return -1;
            }
            ErrnoException e = lastError();
            if (e.errno() != EINTR) {
                throw e;
            }
        }
    }

    /**
     * Reaps any exited child, ours or an orphan re-parented to us: {@code [pid, status]}, or null when none has
     * exited. Only for a superdaemon running as PID 1, which must reap what it inherits; elsewhere it would steal
     * children from the JDK's own reaper.
     */
    public static long[] reapAnyChild() {
        int[] status = new int[1];
        while (true) {
            int r = c().waitpid(-1, status, WNOHANG);
            if (r > 0) {
                return new long[] {r, status[0]};
            }
            if (r == 0 || LastError.getLastError(Lib.RUNTIME) != EINTR) {
                return null;
            }
        }
    }

    /** Sets a signal's disposition to its default, undoing an inherited SIG_IGN (nohup, a shell's {@code &}). */
    public static void defaultSignal(int signal) {
        c().signal(signal, SIG_DFL);
    }

    public static void ignoreSignal(int signal) {
        c().signal(signal, SIG_IGN);
    }

    private static void check(int result) throws ErrnoException {
        if (result != 0) {
            throw lastError();
        }
    }

    /** For the posix_spawn family, which returns the error number instead of setting errno. */
    private static void checkResult(int result) throws ErrnoException {
        if (result != 0) {
            throw error(result);
        }
    }
}

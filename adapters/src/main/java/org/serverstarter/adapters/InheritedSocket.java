package org.serverstarter.adapters;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.serverstarter.adapters.internal.Contract;
import org.serverstarter.adapters.internal.JdkChannels;
import org.serverstarter.adapters.internal.Libc;
import org.serverstarter.adapters.internal.SocketProbe;

/**
 * One entry of {@code SERVER_STARTER_PORT}: the address the superdaemon was told to listen on and the fd number of
 * the listening socket in this process.
 *
 * <p>A key containing {@code /}, or one that is neither {@code PORT}, {@code HOST:PORT} nor {@code [V6]:PORT}, is a
 * unix socket path (Perl writes {@code --path} values verbatim, relative ones included). Relative paths resolve
 * against this process's working directory, which {@code --dir} may have changed.
 */
public final class InheritedSocket {
    private static final Pattern BARE_PORT = Pattern.compile("[0-9]+");
    private static final Pattern BRACKETED = Pattern.compile("\\[([^\\]]+)\\]:([0-9]+)");
    private static final Pattern HOST_PORT = Pattern.compile("([^:\\[\\]]+):([0-9]+)");
    // Linux's <fcntl.h> values (the same on x86, ARM, RISC-V, PowerPC and s390).
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int O_NONBLOCK = 04000;

    private final String key;
    private final int fd;
    private final String host;
    private final int port;

    private InheritedSocket(String key, int fd, String host, int port) {
        this.key = key;
        this.fd = fd;
        this.host = host;
        this.port = port;
    }

    static InheritedSocket of(String key, int fd) {
        if (key.indexOf('/') >= 0) {
            return new InheritedSocket(key, fd, null, -1);
        }
        if (BARE_PORT.matcher(key).matches()) {
            return new InheritedSocket(key, fd, "0.0.0.0", port(key, key, fd));
        }
        for (Pattern p : new Pattern[] {BRACKETED, HOST_PORT}) {
            Matcher m = p.matcher(key);
            if (m.matches()) {
                return new InheritedSocket(key, fd, m.group(1), port(m.group(2), key, fd));
            }
        }
        return new InheritedSocket(key, fd, null, -1);
    }

    private static int port(String digits, String key, int fd) {
        if (digits.length() > 5 || Integer.parseInt(digits) > 65535) {
            throw new StarterException(Contract.PORT_VARIABLE + " entry \"" + key + "=" + fd
                    + "\" has port " + digits + ", which is out of range");
        }
        return Integer.parseInt(digits);
    }

    /** The address as the superdaemon wrote it, e.g. {@code 8080}, {@code [::1]:8080} or {@code /run/app.sock}. */
    public String key() {
        return key;
    }

    /** The file descriptor number of the inherited socket in this process. */
    public int fd() {
        return fd;
    }

    /** Whether the entry names a unix socket path rather than a TCP address. */
    public boolean isUnix() {
        return host == null;
    }

    /** The socket path for a unix socket entry. */
    public Optional<Path> unixPath() {
        return isUnix() ? Optional.of(Path.of(key)) : Optional.empty();
    }

    /**
     * The TCP address of the entry, host as written in the key ({@code 0.0.0.0} for a bare port). A host name is
     * resolved on each call.
     */
    public Optional<InetSocketAddress> tcpAddress() {
        return isUnix() ? Optional.empty() : Optional.of(new InetSocketAddress(host, port));
    }

    /**
     * Adopts the fd as a JDK channel (TCP or unix family), in blocking mode, ready for {@code accept()} or for a
     * framework that takes a {@link ServerSocketChannel}. Each call makes a new channel on the same fd, so call it once
     * per socket; closing the channel closes only this process's fd, never the socket the superdaemon and other
     * generations share, and never deletes a unix socket path.
     *
     * <p>Needs the JVM flag {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED}.
     *
     * @throws StarterException when the fd is not open, not a listening socket of the kind the key names, or the JVM
     *     flag is missing
     */
    public ServerSocketChannel openServerChannel() {
        ProtocolFamily family = SocketProbe.familyOf(this);
        return JdkChannels.adopt(this, family != null ? family
                : isUnix() ? StandardProtocolFamily.UNIX : StandardProtocolFamily.INET6);
    }

    /**
     * Puts the socket in non-blocking mode ({@code O_NONBLOCK}), for a framework that takes the fd number and accepts
     * on an event loop, such as Netty's epoll transport. The superdaemon hands sockets down in blocking mode, and when
     * several processes accept on one socket (generations overlapping in a restart, prefork workers) all of them are
     * woken for each connection: the ones that lose the race would wait in a blocking {@code accept()} until the next
     * connection, serving nothing else meanwhile.
     *
     * <p>The flag belongs to the socket, not to this process's fd, so every process holding the socket sees the
     * change: the superdaemon, the other generations, later ones. JDK channels (and so Jetty, Undertow, Netty's NIO
     * transport) work in either mode. A program that accepts in blocking mode must then expect {@code accept()} to
     * fail with {@code EAGAIN} when another process took the connection. Linux only; loads libc through jnr-ffi.
     *
     * @throws StarterException when the flags cannot be read or changed (e.g. the fd is not open), or not on Linux
     */
    public void setNonBlocking() {
        if (!System.getProperty("os.name").equals("Linux")) {
            throw Contract.entryError(this, "setNonBlocking() supports Linux only");
        }
        try {
            Libc.Functions c = Libc.get();
            int flags = c.fcntl(fd, F_GETFL, 0);
            if (flags < 0) {
                throw Contract.entryError(this, "fcntl(" + fd + ", F_GETFL): " + Libc.lastError());
            }
            if ((flags & O_NONBLOCK) == 0 && c.fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
                throw Contract.entryError(this, "fcntl(" + fd + ", F_SETFL, O_NONBLOCK): " + Libc.lastError());
            }
        } catch (IOException e) {
            throw Contract.entryError(this, e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return key + "=" + fd;
    }
}

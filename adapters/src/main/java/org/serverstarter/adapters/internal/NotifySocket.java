package org.serverstarter.adapters.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Sends one datagram to an {@code sd_notify}-style socket: a unix datagram socket named by a filesystem path, or by an
 * abstract name written with a leading {@code @}. The JDK has no unix datagram sockets, so this calls libc's
 * {@code socket}, {@code sendto} and {@code close} through {@link Libc}.
 *
 * <p>Linux only (the receiver identifies the sender through {@code SCM_CREDENTIALS}, which is Linux's); the constants
 * and the {@code sockaddr_un} layout are Linux's.
 */
public final class NotifySocket {
    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int MSG_NOSIGNAL = 0x4000;
    /** {@code sizeof(sun_path)} in Linux's {@code struct sockaddr_un}, which starts with a 2-byte family. */
    private static final int SUN_PATH_SIZE = 108;

    private NotifySocket() {}

    /**
     * Sends {@code message} as one datagram to {@code address}.
     *
     * @throws IOException naming the failing call and the OS's reason
     */
    public static void send(String address, String message) throws IOException {
        if (!System.getProperty("os.name").equals("Linux")) {
            throw new IOException("sd_notify sockets are supported on Linux only");
        }
        byte[] sockaddr = sockaddr(address);
        byte[] payload = message.getBytes(StandardCharsets.UTF_8);
        Libc.Functions c = Libc.get();
        int fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw new IOException("socket(AF_UNIX, SOCK_DGRAM): " + Libc.lastError());
        }
        try {
            long sent = c.sendto(fd, payload, payload.length, MSG_NOSIGNAL, sockaddr, sockaddr.length);
            if (sent < 0) {
                throw new IOException("sendto: " + Libc.lastError());
            }
            if (sent != payload.length) {
                throw new IOException("sendto sent " + sent + " of " + payload.length + " bytes");
            }
        } finally {
            c.close(fd);
        }
    }

    /**
     * {@code struct sockaddr_un} for a path ({@code /run/notify}, NUL-terminated) or an abstract name ({@code @name},
     * whose {@code @} becomes the leading NUL byte; the length, not a terminator, ends it).
     */
    static byte[] sockaddr(String address) throws IOException {
        boolean isAbstract = address.startsWith("@");
        if (!isAbstract && !address.startsWith("/")) {
            throw new IOException("not an absolute path nor an abstract name starting with '@'");
        }
        byte[] name = address.getBytes(StandardCharsets.UTF_8);
        if (isAbstract) {
            name[0] = 0;
        }
        int pathLength = isAbstract ? name.length : name.length + 1;
        if (pathLength > SUN_PATH_SIZE || name.length < 2) {
            throw new IOException("a unix socket name has 1 to " + (SUN_PATH_SIZE - 1) + " bytes");
        }
        ByteBuffer sockaddr = ByteBuffer.allocate(2 + pathLength).order(ByteOrder.nativeOrder());
        sockaddr.putShort((short) AF_UNIX).put(name);
        return sockaddr.array();
    }

}

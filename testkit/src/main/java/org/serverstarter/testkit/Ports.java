package org.serverstarter.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketException;
import java.nio.channels.SocketChannel;

/** Loopback port numbers for superdaemons to bind, and whether something still listens on one. */
public final class Ports {
    private Ports() {}

    /** A port that was free on 127.0.0.1 a moment ago (bound to port 0, then released). */
    public static int freeTcpPort() {
        return freeTcpPort("127.0.0.1");
    }

    /** A port that was free on {@code host} (a loopback address, e.g. {@code ::1}) a moment ago. */
    public static int freeTcpPort(String host) {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whether connecting to {@code address} is refused right now: nothing listens there any more. A connection that
     * was queued just as the socket closed is reset instead, which counts as not refused yet.
     */
    public static boolean refuses(InetSocketAddress address) {
        try {
            SocketChannel.open(address).close();
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (SocketException e) {
            if (String.valueOf(e.getMessage()).contains("reset")) {
                return false;
            }
            throw new UncheckedIOException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

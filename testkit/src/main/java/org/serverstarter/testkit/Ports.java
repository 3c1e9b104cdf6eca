package org.serverstarter.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Loopback port numbers for superdaemons to bind. */
public final class Ports {
    private Ports() {}

    /** A port that was free on 127.0.0.1 a moment ago (bound to port 0, then released). */
    public static int freeTcpPort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package org.serverstarter.netty.internal;

import io.netty.channel.ServerChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import org.serverstarter.adapters.InheritedSocket;

/**
 * Wraps an inherited fd in a Netty NIO server channel, through the JDK channel that {@code adapters} adopts (which
 * needs {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED}).
 */
public final class NioAdoption {
    private NioAdoption() {}

    /** The socket as a server channel that accepts nothing until {@link AcceptGate#openWhenReady} opens it. */
    public static ServerChannel adopt(InheritedSocket socket) {
        java.nio.channels.ServerSocketChannel jdk = socket.openServerChannel();
        // Not NioServerDomainSocketChannel: its close deletes the socket path once anything (even toString) has
        // looked up the local address, and the path belongs to the superdaemon.
        return AcceptGate.closed(
                socket.isUnix() ? new NioAdoptedDomainServerChannel(jdk) : new NioServerSocketChannel(jdk));
    }
}

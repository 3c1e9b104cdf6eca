package org.serverstarter.adapters.internal;

import java.io.IOException;
import java.net.ProtocolFamily;
import java.net.StandardProtocolFamily;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.serverstarter.adapters.InheritedSocket;
import org.serverstarter.adapters.StarterException;

/**
 * Checks, before adoption, that an fd is what its {@code SERVER_STARTER_PORT} entry says: open, a socket, listening,
 * stream, TCP or unix as the key implies. Adopting a wrong fd would otherwise fail much later with an obscure
 * {@code accept} error, or block forever. Linux only: it reads {@code /proc/self/fd} and the kernel's socket tables in
 * {@code /proc/net}; where those do not exist the check is skipped.
 */
public final class SocketProbe {
    private static final Path FD_DIR = Path.of("/proc/self/fd");
    private static final Path NET_DIR = Path.of("/proc/self/net");
    private static final Pattern SOCKET_LINK = Pattern.compile("socket:\\[([0-9]+)\\]");
    private static final String TCP_LISTEN = "0A";
    private static final String UNIX_STREAM = "0001";
    private static final int UNIX_ACCEPTCON = 0x10000;

    private SocketProbe() {}

    /**
     * The protocol family of the fd's socket, or null when this system offers no way to look.
     *
     * @throws StarterException when the fd does not hold a listening stream socket of the kind the key names
     */
    public static ProtocolFamily familyOf(InheritedSocket socket) {
        if (!Files.isDirectory(FD_DIR) || !Files.isDirectory(NET_DIR)) {
            return null;
        }
        String target;
        try {
            target = Files.readSymbolicLink(FD_DIR.resolve(Integer.toString(socket.fd()))).toString();
        } catch (NoSuchFileException e) {
            throw fail(socket, "fd " + socket.fd() + " is not open in this process");
        } catch (IOException e) {
            return null;
        }
        Matcher m = SOCKET_LINK.matcher(target);
        if (!m.matches()) {
            throw fail(socket, "fd " + socket.fd() + " is not a socket but " + target);
        }
        String inode = m.group(1);
        Found found = find(inode);
        if (found == null) {
            throw fail(socket, "fd " + socket.fd() + " is a socket but neither TCP, UDP nor unix");
        }
        String kind = found.family == StandardProtocolFamily.UNIX ? "unix" : found.udp ? "UDP" : "TCP";
        if (found.udp || !found.stream) {
            throw fail(socket, "fd " + socket.fd() + " is a " + kind + " datagram socket; only stream sockets "
                    + "(TCP or unix) can be served");
        }
        if (socket.isUnix() != (found.family == StandardProtocolFamily.UNIX)) {
            throw fail(socket, "fd " + socket.fd() + " is a " + kind + " socket but \"" + socket.key() + "\" names a "
                    + (socket.isUnix() ? "unix socket path" : "TCP address"));
        }
        if (!found.listening) {
            throw fail(socket, "fd " + socket.fd() + " is a " + kind + " socket that is not listening");
        }
        return found.family;
    }

    private record Found(ProtocolFamily family, boolean udp, boolean stream, boolean listening) {}

    private static Found find(String inode) {
        for (String table : List.of("tcp", "tcp6", "udp", "udp6")) {
            String[] row = row(table, 9, inode);
            if (row != null) {
                ProtocolFamily family = table.endsWith("6") ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
                boolean udp = table.startsWith("udp");
                return new Found(family, udp, !udp, !udp && TCP_LISTEN.equals(row[3]));
            }
        }
        String[] row = row("unix", 6, inode);
        if (row != null) {
            boolean listening = (Integer.parseInt(row[3], 16) & UNIX_ACCEPTCON) != 0;
            return new Found(StandardProtocolFamily.UNIX, false, UNIX_STREAM.equals(row[4]), listening);
        }
        return null;
    }

    /** The whitespace-split row of {@code /proc/net/<table>} whose column {@code inodeColumn} is {@code inode}. */
    private static String[] row(String table, int inodeColumn, String inode) {
        List<String> lines;
        try {
            lines = Files.readAllLines(NET_DIR.resolve(table));
        } catch (IOException e) {
            return null;
        }
        for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
            String[] cols = line.trim().split("\\s+");
            if (cols.length > inodeColumn && cols[inodeColumn].equals(inode)) {
                return cols;
            }
        }
        return null;
    }

    private static StarterException fail(InheritedSocket socket, String problem) {
        return Contract.entryError(socket, problem);
    }
}

package org.serverstarter.testkit;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.function.Predicate;
import java.time.Duration;

/**
 * A plain-text HTTP/2 client (prior knowledge, h2c) that speaks frames by hand, so that a test sees each frame the
 * server sends, in order: the GOAWAY frames of a drain, say, and decides when to answer its {@code PING}s. Literal
 * header fields only; it acknowledges the server's {@code SETTINGS} itself and ignores flow control (a test's answers
 * are small).
 */
public final class Http2Frames implements AutoCloseable {
    public static final int DATA = 0;
    public static final int HEADERS = 1;
    public static final int SETTINGS = 4;
    public static final int PING = 6;
    public static final int GOAWAY = 7;
    private static final int WINDOW_UPDATE = 8;
    public static final int END_STREAM = 0x1;
    public static final int ACK = 0x1;
    private static final int END_HEADERS = 0x4;
    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    /** One frame as read. */
    public record Frame(int type, int flags, int stream, byte[] payload) {
        public boolean has(int flag) {
            return (flags & flag) != 0;
        }

        /** A GOAWAY's last stream id. */
        public int lastStreamId() {
            return ByteBuffer.wrap(payload).getInt() & 0x7fffffff;
        }

        /** A GOAWAY's error code. */
        public int errorCode() {
            return ByteBuffer.wrap(payload).getInt(4);
        }

        /** A PING's opaque data. */
        public long pingData() {
            return ByteBuffer.wrap(payload).getLong();
        }

        @Override
        public String toString() {
            String name = switch (type) {
                case DATA -> "DATA";
                case HEADERS -> "HEADERS";
                case SETTINGS -> "SETTINGS";
                case PING -> "PING(" + Long.toHexString(pingData()) + ")" + (has(ACK) ? " ack" : "");
                case GOAWAY -> "GOAWAY(" + lastStreamId() + ")";
                default -> "type " + type;
            };
            return name + " stream " + stream + (has(END_STREAM) && type <= HEADERS ? " end" : "");
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    private Http2Frames(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    /** Connects, sends the preface and empty {@code SETTINGS}; every read waits at most {@code readTimeout}. */
    public static Http2Frames connect(InetSocketAddress address, Duration readTimeout) throws IOException {
        Socket socket = new Socket(address.getAddress(), address.getPort());
        socket.setSoTimeout((int) readTimeout.toMillis());
        Http2Frames client = new Http2Frames(socket);
        client.out.write(PREFACE);
        client.write(SETTINGS, 0, 0, new byte[0]);
        return client;
    }

    /** Sends {@code GET path} on {@code stream} (odd, higher than the last). */
    public void get(int stream, String path) throws IOException {
        request(stream, "GET", path, null);
    }

    /**
     * Sends a request on {@code stream} (odd, higher than the last): its headers, then {@code body} in one
     * {@code DATA} frame unless null. {@code headers} are more name, value pairs after the pseudo-headers.
     */
    public void request(int stream, String method, String path, byte[] body, String... headers) throws IOException {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        literal(block, ":method", method);
        literal(block, ":scheme", "http");
        literal(block, ":path", path);
        literal(block, ":authority", "localhost");
        for (int i = 0; i + 1 < headers.length; i += 2) {
            literal(block, headers[i], headers[i + 1]);
        }
        write(HEADERS, END_HEADERS | (body == null ? END_STREAM : 0), stream, block.toByteArray());
        if (body != null) {
            write(DATA, END_STREAM, stream, body);
        }
    }

    /** Answers the server's {@code PING} carrying {@code data}. */
    public void pingAck(long data) throws IOException {
        write(PING, ACK, 0, ByteBuffer.allocate(8).putLong(data).array());
    }

    /**
     * The next frame other than {@code SETTINGS} (acknowledged on the way) and {@code WINDOW_UPDATE}, or null once the
     * server closed the connection.
     */
    public Frame read() throws IOException {
        while (true) {
            byte[] header = new byte[9];
            try {
                in.readFully(header);
            } catch (EOFException e) {
                return null;
            }
            ByteBuffer h = ByteBuffer.wrap(header);
            int length = ((h.get() & 0xff) << 16) | ((h.get() & 0xff) << 8) | (h.get() & 0xff);
            int type = h.get() & 0xff;
            int flags = h.get() & 0xff;
            int stream = h.getInt() & 0x7fffffff;
            byte[] payload = new byte[length];
            in.readFully(payload);
            if (type == SETTINGS) {
                if ((flags & ACK) == 0) {
                    write(SETTINGS, ACK, 0, new byte[0]);
                }
                continue;
            }
            if (type == WINDOW_UPDATE) {
                continue;
            }
            return new Frame(type, flags, stream, payload);
        }
    }

    /**
     * The next frame {@code wanted}, answering the server's {@code PING}s on the way (as a live client does, which a
     * server may wait for) and skipping the other frames.
     *
     * @throws IOException also when the server closed the connection first
     */
    public Frame next(Predicate<Frame> wanted) throws IOException {
        for (Frame frame = read(); frame != null; frame = read()) {
            if (frame.type() == PING && !frame.has(ACK)) {
                pingAck(frame.pingData());
            } else if (wanted.test(frame)) {
                return frame;
            }
        }
        throw new EOFException("the server closed the connection before the frame waited for");
    }

    /** The answer to {@code stream}: its {@code HEADERS} frame. */
    public static Predicate<Frame> answerTo(int stream) {
        return frame -> frame.type() == HEADERS && frame.stream() == stream;
    }

    /** A {@code GOAWAY}. */
    public static boolean isGoAway(Frame frame) {
        return frame.type() == GOAWAY;
    }

    /** A {@code GOAWAY} naming a stream below the highest possible id: the last step of a graceful close. */
    public static boolean isFinalGoAway(Frame frame) {
        return frame.type() == GOAWAY && frame.lastStreamId() != Integer.MAX_VALUE;
    }

    private void write(int type, int flags, int stream, byte[] payload) throws IOException {
        ByteBuffer frame = ByteBuffer.allocate(9 + payload.length);
        frame.put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8)).put((byte) payload.length);
        frame.put((byte) type).put((byte) flags).putInt(stream).put(payload);
        out.write(frame.array());
        out.flush();
    }

    /** A literal header field without indexing, new name, no Huffman (RFC 7541, 6.2.2); short strings only. */
    private static void literal(ByteArrayOutputStream block, String name, String value) {
        block.write(0);
        for (String s : new String[] {name, value}) {
            byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
            block.write(bytes.length);
            block.writeBytes(bytes);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}

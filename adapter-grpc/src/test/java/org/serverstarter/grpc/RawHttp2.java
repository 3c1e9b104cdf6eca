package org.serverstarter.grpc;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * An HTTP/2 client that speaks frames by hand, so that a test sees each frame a gRPC server sends and decides when to
 * answer its {@code PING}s. Only what such a test needs: plain-text HTTP/2, literal header fields, one gRPC message per
 * call. It acknowledges the server's {@code SETTINGS} itself.
 */
final class RawHttp2 implements AutoCloseable {
    static final int DATA = 0;
    static final int HEADERS = 1;
    static final int SETTINGS = 4;
    static final int PING = 6;
    static final int GOAWAY = 7;
    static final int END_STREAM = 0x1;
    static final int ACK = 0x1;
    private static final int END_HEADERS = 0x4;
    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    /** One frame as read; {@code null} from {@link #read()} means the server closed the connection. */
    record Frame(int type, int flags, int stream, byte[] payload) {
        boolean has(int flag) {
            return (flags & flag) != 0;
        }

        long pingData() {
            return ByteBuffer.wrap(payload).getLong();
        }

        int goAwayLastStream() {
            return ByteBuffer.wrap(payload).getInt() & 0x7fffffff;
        }

        int goAwayError() {
            return ByteBuffer.wrap(payload).getInt(4);
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    private RawHttp2(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    /** Connects, sends the preface and empty {@code SETTINGS}; every read waits at most {@code readTimeout}. */
    static RawHttp2 connect(InetSocketAddress address, Duration readTimeout) throws IOException {
        Socket socket = new Socket(address.getAddress(), address.getPort());
        socket.setSoTimeout((int) readTimeout.toMillis());
        RawHttp2 client = new RawHttp2(socket);
        client.out.write(PREFACE);
        client.write(SETTINGS, 0, 0, new byte[0]);
        return client;
    }

    /** Starts a call of {@code method} ({@code /service/Method}) on {@code stream}, with {@code request} as its one message. */
    void call(int stream, String method, String request) throws IOException {
        ByteArrayOutputStream headers = new ByteArrayOutputStream();
        literal(headers, ":method", "POST");
        literal(headers, ":scheme", "http");
        literal(headers, ":path", method);
        literal(headers, ":authority", "localhost");
        literal(headers, "content-type", "application/grpc");
        literal(headers, "te", "trailers");
        write(HEADERS, END_HEADERS, stream, headers.toByteArray());
        byte[] message = request.getBytes(StandardCharsets.UTF_8);
        write(DATA, END_STREAM, stream, ByteBuffer.allocate(5 + message.length).put((byte) 0)
                .putInt(message.length).put(message).array());
    }

    void pingAck(long data) throws IOException {
        write(PING, ACK, 0, ByteBuffer.allocate(8).putLong(data).array());
    }

    /** The next frame, or null once the server closed the connection. Acknowledges {@code SETTINGS} on the way. */
    Frame read() throws IOException {
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
        if (type == SETTINGS && (flags & ACK) == 0) {
            write(SETTINGS, ACK, 0, new byte[0]);
        }
        return new Frame(type, flags, stream, payload);
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

package org.serverstarter.testkit;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A minimal blocking HTTP/1.1 client connection that can carry several requests (keep-alive), over TCP or a unix
 * socket. Requests can be sent ahead of reading their response ({@link #send}, then {@link #read}), which lets a test
 * put a request in flight before it signals a server. Every read has a 30 s deadline so a hung server fails the test
 * instead of hanging it.
 */
public final class HttpConnection implements AutoCloseable {
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

    private final SocketChannel channel;
    private final Selector selector;
    private final String description;
    private final ByteBuffer in = ByteBuffer.allocate(16 * 1024).flip();
    private boolean serverClosing;

    private HttpConnection(SocketChannel channel, String description) throws IOException {
        this.channel = channel;
        this.description = description;
        channel.configureBlocking(false);
        selector = Selector.open();
    }

    public static HttpConnection open(InetSocketAddress address) throws IOException {
        return open(address, address.toString());
    }

    public static HttpConnection open(Path unixSocket) throws IOException {
        return open(UnixDomainSocketAddress.of(unixSocket), unixSocket.toString());
    }

    private static HttpConnection open(SocketAddress address, String description) throws IOException {
        SocketChannel ch = SocketChannel.open(address);
        try {
            return new HttpConnection(ch, description);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Sends a GET and reads its response, keeping the connection open. */
    public HttpResponse get(String path) throws IOException {
        return get(path, false);
    }

    HttpResponse get(String path, boolean close) throws IOException {
        send(path, close);
        return read();
    }

    /** Sends a GET without waiting for its response. */
    public void send(String path) throws IOException {
        send(path, false);
    }

    private void send(String path, boolean close) throws IOException {
        String request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n"
                + (close ? "Connection: close\r\n" : "") + "\r\n";
        ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
        while (out.hasRemaining()) {
            if (channel.write(out) == 0) {
                await(SelectionKey.OP_WRITE);
            }
        }
    }

    /** Reads the next response (content-length, chunked, or until the server closes). */
    public HttpResponse read() throws IOException {
        String statusLine = readLine();
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
            throw new IOException("not an HTTP status line from " + description + ": " + statusLine);
        }
        int status = Integer.parseInt(parts[1]);
        Map<String, String> headers = new HashMap<>();
        for (String line = readLine(); !line.isEmpty(); line = readLine()) {
            int colon = line.indexOf(':');
            headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        byte[] body;
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = readChunked();
        } else if (headers.containsKey("content-length")) {
            body = readBytes(Integer.parseInt(headers.get("content-length")));
        } else if (status == 204 || status == 304) {
            body = new byte[0];
        } else {
            body = readToEnd();
            serverClosing = true;
        }
        if ("close".equalsIgnoreCase(headers.get("connection"))) {
            serverClosing = true;
        }
        return new HttpResponse(status, Map.copyOf(headers), new String(body, StandardCharsets.UTF_8));
    }

    /** True once a response said {@code Connection: close} or ended with the connection. */
    public boolean isClosedByServer() {
        return serverClosing;
    }

    @Override
    public void close() throws IOException {
        try (selector; channel) {
            // both closed by try-with-resources
        }
    }

    private byte[] readChunked() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = readLine();
            int semicolon = sizeLine.indexOf(';');
            int size = Integer.parseInt((semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim(), 16);
            if (size == 0) {
                for (String trailer = readLine(); !trailer.isEmpty(); trailer = readLine()) {
                    // trailers are not needed by any test
                }
                return body.toByteArray();
            }
            body.writeBytes(readBytes(size));
            readLine();
        }
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            int b = readByte();
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
            }
            line.write(b);
        }
    }

    private byte[] readBytes(int n) throws IOException {
        byte[] bytes = new byte[n];
        for (int i = 0; i < n; i++) {
            bytes[i] = (byte) readByte();
        }
        return bytes;
    }

    private byte[] readToEnd() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (fill()) {
            while (in.hasRemaining()) {
                body.write(in.get());
            }
        }
        return body.toByteArray();
    }

    private int readByte() throws IOException {
        if (!in.hasRemaining() && !fill()) {
            throw new EOFException("connection to " + description + " closed by the server mid-response");
        }
        return in.get() & 0xff;
    }

    /** Reads more bytes into the buffer; false at end of stream. */
    private boolean fill() throws IOException {
        in.compact();
        try {
            while (true) {
                int n = channel.read(in);
                if (n > 0) {
                    return true;
                }
                if (n < 0) {
                    return false;
                }
                await(SelectionKey.OP_READ);
            }
        } finally {
            in.flip();
        }
    }

    private void await(int op) throws IOException {
        SelectionKey key = channel.register(selector, op);
        try {
            if (selector.select(READ_TIMEOUT.toMillis()) == 0) {
                throw new SocketTimeoutException("no progress on " + description + " for " + READ_TIMEOUT.toSeconds() + " s");
            }
        } finally {
            selector.selectedKeys().clear();
            key.interestOps(0);
        }
    }
}

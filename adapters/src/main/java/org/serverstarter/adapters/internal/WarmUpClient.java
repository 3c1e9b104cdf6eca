package org.serverstarter.adapters.internal;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import javax.net.SocketFactory;

/**
 * A new generation's warm-up before it announces readiness: {@code GET} requests to the app itself on a private
 * loopback listener (a request to the shared inherited socket could be accepted by the old generation), over
 * keep-alive connections renewed every few requests, since at the takeover every client reconnects at once and
 * accepting and setting up a connection must be compiled too. Then a full GC, so that the first young collection
 * under real load does not copy everything the warm-up left reachable. Why each part is there, measured:
 * docs/benchmarks-zero-downtime.md, "The warm-up".
 *
 * <p>Used by the samples and the Spring Boot starter.
 */
public final class WarmUpClient {
    private static final int CONNECT_TIMEOUT_MILLIS = 5_000;
    private static final int READ_TIMEOUT_MILLIS = 10_000;

    private final String path;
    private final int requests;
    private final int requestsPerConnection;
    private final SocketFactory sockets;

    /** A loopback listener of the app's own server, opened only for the warm-up. */
    public interface Port {
        /** Starts listening; returns where. */
        InetSocketAddress open() throws Exception;

        /** Stops listening. */
        void close() throws Exception;
    }

    /** The warm-up failed: the app is not ready. Its message is one line, naming the request and what went wrong. */
    public static final class Failure extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        public Failure(String message) {
            super(message);
        }

        Failure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * @param path what to request, from {@code /}, with any query
     * @param requests how many requests in all
     * @param requestsPerConnection how many on each connection before the next one is opened
     * @throws IllegalArgumentException when {@code path} does not start with {@code /} or holds a space or control
     *     character, {@code requests} is negative or {@code requestsPerConnection} is less than 1
     */
    public WarmUpClient(String path, int requests, int requestsPerConnection) {
        this(path, requests, requestsPerConnection, SocketFactory.getDefault());
    }

    /**
     * A warm-up whose connections {@code sockets} makes: an {@code SSLSocketFactory} warms up the TLS handshake and
     * record layer too, for a listener that serves TLS as the app's inherited sockets do.
     *
     * @see #WarmUpClient(String, int, int)
     */
    public WarmUpClient(String path, int requests, int requestsPerConnection, SocketFactory sockets) {
        if (!isRequestTarget(path)) {
            throw new IllegalArgumentException("the warm-up path must start with / and hold no space or control "
                    + "character, not \"" + path + "\"");
        }
        if (requests < 0) {
            throw new IllegalArgumentException("the warm-up's request count must be 0 or more, not " + requests);
        }
        if (requestsPerConnection < 1) {
            throw new IllegalArgumentException("the warm-up's requests per connection must be 1 or more, not "
                    + requestsPerConnection);
        }
        this.path = path;
        this.requests = requests;
        this.requestsPerConnection = requestsPerConnection;
        this.sockets = sockets;
    }

    static boolean isRequestTarget(String path) {
        return path != null && path.startsWith("/") && path.chars().allMatch(c -> c > ' ' && c < 0x7f);
    }

    /**
     * Opens {@code port}, sends the requests to it, closes it (also when a request failed), then runs a full GC.
     *
     * @return where the port listened
     * @throws Failure when the port cannot be opened or closed, or a request fails
     */
    public InetSocketAddress warmUp(Port port) {
        InetSocketAddress address;
        try {
            address = port.open();
        } catch (Exception e) {
            throw new Failure("warm-up: cannot open a loopback listener: " + e, e);
        }
        try {
            send(address);
        } finally {
            try {
                port.close();
            } catch (Exception e) {
                throw new Failure("warm-up: cannot close the loopback listener on " + hostPort(address) + ": " + e, e);
            }
        }
        System.gc();
        return address;
    }

    /**
     * Sends the requests to {@code address}.
     *
     * @throws Failure when one is refused, times out, or is not answered with a 2xx status
     */
    public void send(InetSocketAddress address) {
        byte[] request = ("GET " + path + " HTTP/1.1\r\nHost: " + hostPort(address) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        int answered = 0;
        while (answered < requests) {
            answered = onOneConnection(address, request, answered);
        }
    }

    /** Sends requests on a new connection until it carried its share or the server closed it; returns the total. */
    private int onOneConnection(InetSocketAddress address, byte[] request, int answeredBefore) {
        int answered = answeredBefore;
        int last = Math.min(requests, answeredBefore + requestsPerConnection);
        try (Socket socket = sockets.createSocket()) {
            socket.setTcpNoDelay(true);
            socket.connect(address, CONNECT_TIMEOUT_MILLIS);
            socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            InputStream in = new BufferedInputStream(socket.getInputStream());
            boolean open = true;
            while (open && answered < last) {
                out.write(request);
                out.flush();
                open = readResponse(in);
                answered++;
            }
            return answered;
        } catch (IOException e) {
            String what = e instanceof ResponseException ? e.getMessage() : "failed: " + e.getMessage();
            throw new Failure("warm-up request " + (answered + 1) + " of " + requests + ", GET " + path + " on "
                    + hostPort(address) + ", " + what, e);
        }
    }

    /** Reads one response; returns false when the server closes the connection after it. */
    private boolean readResponse(InputStream in) throws IOException {
        String[] head = readHead(in).split("\r\n");
        String status = head[0];
        int code = statusCode(status);
        if (code < 200 || code > 299) {
            throw new ResponseException("answered " + (status.isBlank() ? "(nothing)" : status.strip()));
        }
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        for (int i = 1; i < head.length; i++) {
            int colon = head[i].indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = head[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = head[i].substring(colon + 1).trim().toLowerCase(Locale.ROOT);
            switch (name) {
                case "content-length" -> length = Long.parseLong(value);
                case "transfer-encoding" -> chunked = value.endsWith("chunked");
                case "connection" -> close = value.contains("close");
                default -> { }
            }
        }
        if (code == 204 || code == 304) {
            return !close;
        }
        if (chunked) {
            skipChunks(in);
        } else if (length >= 0) {
            in.skipNBytes(length);
        } else {
            in.transferTo(OutputStream.nullOutputStream()); // the body ends with the connection
            return false;
        }
        return !close;
    }

    private static int statusCode(String statusLine) {
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
            return -1;
        }
        try {
            return Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static void skipChunks(InputStream in) throws IOException {
        while (true) {
            String size = readLine(in);
            int extension = size.indexOf(';');
            long length = Long.parseLong((extension < 0 ? size : size.substring(0, extension)).trim(), 16);
            if (length == 0) {
                while (!readLine(in).isEmpty()) {
                    // trailer fields, unused
                }
                return;
            }
            in.skipNBytes(length);
            readLine(in);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int b;
        while ((b = in.read()) != '\n') {
            if (b < 0) {
                throw new EOFException("connection closed in the middle of a response");
            }
            if (b != '\r') {
                line.append((char) b);
            }
        }
        return line.toString();
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int ends = 0; // how much of the blank line's CR LF CR LF has been read
        while (ends < 4) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("connection closed after " + head.length() + " bytes of a response");
            }
            head.append((char) b);
            ends = b == (ends % 2 == 0 ? '\r' : '\n') ? ends + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString();
    }

    private static String hostPort(InetSocketAddress address) {
        String host = address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    /** A response that is not a success; carried out of the read as an I/O error, reported as it is. */
    private static final class ResponseException extends IOException {
        private static final long serialVersionUID = 1L;

        ResponseException(String message) {
            super(message);
        }
    }
}

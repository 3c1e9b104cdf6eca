package org.serverstarter.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/** One-shot HTTP/1.1 GET over a fresh connection (TCP or unix socket), closed after the response. */
public final class HttpClient {
    private HttpClient() {}

    public static HttpResponse get(InetSocketAddress address, String path) {
        try (HttpConnection c = HttpConnection.open(address)) {
            return c.get(path, true);
        } catch (IOException e) {
            throw new UncheckedIOException("GET " + path + " from " + address + ": " + e.getMessage(), e);
        }
    }

    public static HttpResponse get(Path unixSocket, String path) {
        try (HttpConnection c = HttpConnection.open(unixSocket)) {
            return c.get(path, true);
        } catch (IOException e) {
            throw new UncheckedIOException("GET " + path + " from " + unixSocket + ": " + e.getMessage(), e);
        }
    }
}

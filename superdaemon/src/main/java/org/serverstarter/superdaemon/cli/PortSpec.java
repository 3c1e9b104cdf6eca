package org.serverstarter.superdaemon.cli;

import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One {@code --port} value in Perl's grammar: {@code [u]PORT[=FD]}, {@code HOST:[u]PORT[=FD]} or
 * {@code [HOST]:[u]PORT[=FD]}, blanks tolerated around the parts.
 *
 * @param host       the host as typed (without brackets), or {@code null} for a bare port (0.0.0.0, IPv4 only)
 * @param port       the port number
 * @param datagram   UDP ({@code u} before the port)
 * @param requestedFd the fd the worker should see the socket at ({@code =FD}), if any
 */
public record PortSpec(String raw, String host, int port, boolean datagram, OptionalInt requestedFd) {
    private static final Pattern PORT_ONLY = Pattern.compile("^\\s*(u?)(\\d+)(?:\\s*=(\\d+))?\\s*$");
    private static final Pattern HOST_PORT =
            Pattern.compile("^\\s*(?:\\[\\s*|)([^\\]]*)\\s*(?:\\]\\s*|):\\s*(u?)(\\d+)(?:\\s*=(\\d+))?\\s*$");

    /** Parses a value; the message of the exception is Perl's line for a bad value. */
    public static PortSpec parse(String raw) {
        Matcher m = PORT_ONLY.matcher(raw);
        if (m.matches()) {
            return new PortSpec(raw, null, port(raw, m.group(2)), !m.group(1).isEmpty(), fd(raw, m.group(3)));
        }
        m = HOST_PORT.matcher(raw);
        if (m.matches()) {
            return new PortSpec(raw, m.group(1), port(raw, m.group(3)), !m.group(2).isEmpty(), fd(raw, m.group(4)));
        }
        throw invalid(raw);
    }

    private static int port(String raw, String digits) {
        // Perl does not check the range and binds whatever pack() makes of it; a clear refusal is better.
        if (digits.length() > 5 || Integer.parseInt(digits) > 65535) {
            throw invalid(raw);
        }
        return Integer.parseInt(digits);
    }

    private static OptionalInt fd(String raw, String digits) {
        if (digits == null) {
            return OptionalInt.empty();
        }
        if (digits.length() > 6) {
            throw invalid(raw);
        }
        return OptionalInt.of(Integer.parseInt(digits));
    }

    private static IllegalArgumentException invalid(String raw) {
        return new IllegalArgumentException("invalid ``port'' value:" + raw);
    }

    public boolean isIpv6() {
        return host != null && host.contains(":");
    }

    /** The spec as it appears in SERVER_STARTER_PORT and in Perl's messages: {@code 8080}, {@code h:8080}, {@code [v6]:8080}. */
    public String envKey() {
        if (host == null) {
            return Integer.toString(port);
        }
        return isIpv6() ? "[" + host + "]:" + port : host + ":" + port;
    }
}

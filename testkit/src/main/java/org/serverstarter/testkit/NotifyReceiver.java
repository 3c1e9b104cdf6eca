package org.serverstarter.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * An sd_notify receiver as a superdaemon would run it, independent of the code under test: a python3 process binds a
 * unix datagram socket (a path, or an abstract name written {@code @name}) with {@code SO_PASSCRED}, and reports each
 * datagram with the sender's pid from {@code SCM_CREDENTIALS}, which the kernel fills in.
 */
public final class NotifyReceiver implements AutoCloseable {
    /** One datagram: the pid the kernel vouches for, and the text sent. */
    public record Notification(long pid, String text) {
        public boolean has(String line) {
            return text.lines().anyMatch(line::equals);
        }
    }

    // Exits when its stdin closes, so it cannot outlive the test JVM.
    private static final String SCRIPT = """
            import os, socket, struct, sys, threading
            address = sys.argv[1]
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            s.bind('\\0' + address[1:] if address.startswith('@') else address)
            threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
            print('bound', flush=True)
            size = struct.calcsize('3i')
            while True:
                data, ancillary, flags, sender = s.recvmsg(65536, socket.CMSG_SPACE(size))
                pid = -1
                for level, kind, value in ancillary:
                    if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                        pid = struct.unpack('3i', value[:size])[0]
                print(pid, data.hex(), flush=True)
            """;

    private static final String MARKER = """
            import socket, sys
            address = sys.argv[1]
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.sendto(b'MARKER=1', '\\0' + address[1:] if address.startswith('@') else address)
            """;

    private final String address;
    private final Process process;
    private final List<Notification> received = new CopyOnWriteArrayList<>();
    private final List<String> errors = new CopyOnWriteArrayList<>();

    private NotifyReceiver(String address, Process process) {
        this.address = address;
        this.process = process;
    }

    /** Binds {@code address} (a path, or {@code @name} for an abstract socket) and starts recording. */
    public static NotifyReceiver bind(String address) throws IOException {
        Process process = new ProcessBuilder("python3", "-c", SCRIPT, address).start();
        NotifyReceiver receiver = new NotifyReceiver(address, process);
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String first = out.readLine();
        if (!"bound".equals(first)) {
            receiver.close();
            throw new IOException("the receiver could not bind " + address + ": "
                    + new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        }
        Thread reader = new Thread(() -> receiver.record(out), "notify-receiver");
        reader.setDaemon(true);
        reader.start();
        return receiver;
    }

    private void record(BufferedReader out) {
        try {
            for (String line; (line = out.readLine()) != null; ) {
                String[] fields = line.split(" ", 2);
                String text = new String(HexFormat.of().parseHex(fields.length > 1 ? fields[1] : ""),
                        StandardCharsets.UTF_8);
                received.add(new Notification(Long.parseLong(fields[0]), text));
            }
        } catch (IOException | RuntimeException e) {
            errors.add(e.toString());
        }
    }

    /** The value for {@code NOTIFY_SOCKET}. */
    public String address() {
        return address;
    }

    /** Every datagram so far, in arrival order. */
    public List<Notification> received() {
        return List.copyOf(received);
    }

    /** Waits for the first datagram that matches, and returns it. */
    public Notification await(String what, Predicate<Notification> matching, Duration timeout) {
        try {
            Await.until(what, timeout, () -> received.stream().anyMatch(matching));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; received " + received + ", errors " + errors, e);
        }
        return received.stream().filter(matching).findFirst().orElseThrow();
    }

    /** Waits for the first datagram with the line {@code line} (e.g. {@code READY=1}) from {@code pid}. */
    public Notification await(String line, long pid, Duration timeout) {
        return await(line + " from pid " + pid, n -> n.pid() == pid && n.has(line), timeout);
    }

    /**
     * Sends a marker from a python3 process of its own and waits for it. Datagrams queue in order, so afterwards
     * every datagram sent before this call, e.g. by a worker that has exited, has been recorded.
     */
    public void flush(Duration timeout) throws IOException, InterruptedException {
        Process marker = new ProcessBuilder("python3", "-c", MARKER, address).redirectErrorStream(true).start();
        try {
            if (!marker.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) || marker.exitValue() != 0) {
                throw new AssertionError("the marker was not sent: "
                        + new String(marker.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            await("the marker", n -> n.pid() == marker.pid() && n.has("MARKER=1"), timeout);
        } finally {
            marker.destroyForcibly();
        }
    }

    /** The first datagram with the line {@code line}, if any. */
    public Optional<Notification> first(String line) {
        return received.stream().filter(n -> n.has(line)).findFirst();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}

package org.serverstarter.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ServerStarterTest {

    private static ServerStarter ports(String value) {
        return ServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", value));
    }

    @Test
    void parsesEveryKindOfEntryInOrder() {
        List<InheritedSocket> sockets = ports("8080=4;127.0.0.1:8081=5;[::1]:8082=6;/tmp/s.sock=8").sockets();

        assertEquals(List.of("8080", "127.0.0.1:8081", "[::1]:8082", "/tmp/s.sock"),
                sockets.stream().map(InheritedSocket::key).toList());
        assertEquals(List.of(4, 5, 6, 8), sockets.stream().map(InheritedSocket::fd).toList());
        assertEquals(List.of(false, false, false, true), sockets.stream().map(InheritedSocket::isUnix).toList());
    }

    @ParameterizedTest
    @CsvSource({
        "8080=3,                 0.0.0.0,   8080",
        "127.0.0.1:8081=3,       127.0.0.1, 8081",
        "[::1]:8082=3,           ::1,       8082",
        "[127.0.0.1]:8083=3,     127.0.0.1, 8083",
        "localhost:8084=3,       localhost, 8084",
        "0=3,                    0.0.0.0,   0",
    })
    void tcpKeysGiveHostAndPort(String entry, String host, int port) {
        InheritedSocket s = ports(entry).sockets().get(0);
        InetSocketAddress address = s.tcpAddress().orElseThrow();
        assertEquals(new InetSocketAddress(host, port), address);
        assertEquals(Optional.empty(), s.unixPath());
    }

    @ParameterizedTest
    @CsvSource({"/run/app.sock=5, /run/app.sock", "rel.sock=5, rel.sock", "sub/dir.sock=5, sub/dir.sock"})
    void unixKeysArePaths(String entry, String path) {
        InheritedSocket s = ports(entry).sockets().get(0);
        assertTrue(s.isUnix());
        assertEquals(Optional.of(Path.of(path)), s.unixPath());
        assertEquals(Optional.empty(), s.tcpAddress());
    }

    @Test
    void splitsAtTheFirstEqualsSignOnly() {
        // Perl's split /=/, $_, 2 keeps "b.sock=7" as the value, which is no fd number.
        StarterException e = assertThrows(StarterException.class, () -> ports("/tmp/a=b.sock=7").sockets());
        assertTrue(e.getMessage().contains("has \"b.sock=7\" where a file descriptor number belongs"),
                e.getMessage());
    }

    @Test
    void emptyValueIsPresentWithNoSockets() {
        ServerStarter starter = ports("");
        assertTrue(starter.isPresent());
        assertEquals(List.of(), starter.sockets());
    }

    @Test
    void emptyEntriesAreSkippedLikePerlSplit() {
        assertEquals(List.of("8080", "8081"),
                ports("8080=3;;8081=4;").sockets().stream().map(InheritedSocket::key).toList());
    }

    @Test
    void absentVariableIsNotPresentAndSocketsSaysWhy() {
        ServerStarter starter = ServerStarter.fromEnvironment(Map.of());
        assertFalse(starter.isPresent());
        StarterException e = assertThrows(StarterException.class, starter::sockets);
        assertEquals("SERVER_STARTER_PORT is not set: this process was not started by start_server", e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "8080           | SERVER_STARTER_PORT entry \"8080\" has no \"=FD\" (expected ADDRESS=FD entries separated by \";\")",
        "=4             | SERVER_STARTER_PORT entry \"=4\" has an empty address before \"=\" (expected ADDRESS=FD entries separated by \";\")",
        "8080=          | SERVER_STARTER_PORT entry \"8080=\" has \"\" where a file descriptor number belongs (expected ADDRESS=FD entries separated by \";\")",
        "8080=-1        | SERVER_STARTER_PORT entry \"8080=-1\" has \"-1\" where a file descriptor number belongs (expected ADDRESS=FD entries separated by \";\")",
        "8080=4;9090=x  | SERVER_STARTER_PORT entry \"9090=x\" has \"x\" where a file descriptor number belongs (expected ADDRESS=FD entries separated by \";\")",
        "1.2.3.4:70000=3| SERVER_STARTER_PORT entry \"1.2.3.4:70000=3\" has port 70000, which is out of range",
    })
    void malformedEntriesGiveOneClearLine(String value, String message) {
        StarterException e = assertThrows(StarterException.class, () -> ports(value.trim()).sockets());
        assertEquals(message, e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void generationDefaultsToZeroAndRejectsGarbage() {
        assertEquals(0, ports("").generation());
        assertEquals(7, ServerStarter.fromEnvironment(Map.of("SERVER_STARTER_GENERATION", "7")).generation());
        StarterException e = assertThrows(StarterException.class,
                () -> ServerStarter.fromEnvironment(Map.of("SERVER_STARTER_GENERATION", "x")).generation());
        assertEquals("SERVER_STARTER_GENERATION=\"x\" is not a decimal number", e.getMessage());
    }
}

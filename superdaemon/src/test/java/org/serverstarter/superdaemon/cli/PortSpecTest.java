package org.serverstarter.superdaemon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Perl's --port grammar and the SERVER_STARTER_PORT keys it produces (spec 3.1). */
class PortSpecTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "8080                | 8080             | false | false | -1",
        "u8080               | 8080             | true  | false | -1",
        "' 8080 =0 '         | 8080             | false | false | 0",
        "127.0.0.1:8080      | 127.0.0.1:8080   | false | false | -1",
        "[127.0.0.1]:8080    | 127.0.0.1:8080   | false | false | -1",
        "127.0.0.1:u8080=5   | 127.0.0.1:8080   | true  | false | 5",
        "localhost:8080      | localhost:8080   | false | false | -1",
        "[::1]:8080          | [::1]:8080       | false | true  | -1",
        "::1:8080            | [::1]:8080       | false | true  | -1",
        "[ ::1]:8080=7       | [::1]:8080       | false | true  | 7",
    })
    void parses(String raw, String envKey, boolean datagram, boolean ipv6, int fd) {
        PortSpec spec = PortSpec.parse(raw);
        assertEquals(envKey, spec.envKey());
        assertEquals(datagram, spec.datagram());
        assertEquals(ipv6, spec.isIpv6());
        assertEquals(fd, spec.requestedFd().orElse(-1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "", "80a", "host:", ":x", "8080=x", "99999", "1:2:3:x"})
    void rejects(String raw) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PortSpec.parse(raw));
        assertEquals("invalid ``port'' value:" + raw, e.getMessage());
    }
}

package org.serverstarter.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SettingsTest {

    @Test
    void notUnderASuperdaemonBindsPort8080ByDefault() {
        Settings s = Settings.from(Map.of());
        assertFalse(s.starter().isPresent());
        assertEquals(8080, s.fallbackPort());
        assertEquals(0, s.generation());
        assertTrue(s.fallbackNotice("app").contains("127.0.0.1:8080"), s.fallbackNotice("app"));
    }

    @Test
    void readsGenerationPortAndSlowStart() {
        Settings s = Settings.from(Map.of("SERVER_STARTER_PORT", "127.0.0.1:9000=3", "SERVER_STARTER_GENERATION", "7",
                "PORT", "9001", "SLOW_START", "1", "SERVER_STARTER_STATUS_FILE", "/run/app.status"));
        assertEquals(7, s.generation());
        assertEquals(9001, s.fallbackPort());
        assertEquals(Optional.of(Path.of("/run/app.status")), s.slowStartStatusFile());
    }

    @Test
    void slowStartOffWhenEmptyOrZero() {
        assertEquals(Optional.empty(), Settings.from(Map.of("SLOW_START", "0")).slowStartStatusFile());
        assertEquals(Optional.empty(), Settings.from(Map.of("SLOW_START", "")).slowStartStatusFile());
    }

    @Test
    void slowStartOffUnderAReadinessGatingSuperdaemon() {
        // deploy/env sets SLOW_START=1 for every mode; under --readiness=notify the superdaemon retires the old one.
        assertEquals(Optional.empty(), Settings.from(Map.of("SLOW_START", "1", "NOTIFY_SOCKET", "/run/ss/notify"))
                .slowStartStatusFile());
    }

    @Test
    void slowStartWithoutStatusFileIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Settings.from(Map.of("SLOW_START", "1")));
        assertTrue(e.getMessage().contains("SERVER_STARTER_STATUS_FILE"), e.getMessage());
    }

    @Test
    void badPortIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> Settings.from(Map.of("PORT", "http")));
    }
}

package org.serverstarter.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;

class TomcatBaseDirectoryTest {
    /**
     * A TERM while the app starts: Boot's shutdown is under way and refuses the handler that would delete the
     * directory, which then goes at once (it was left in java.io.tmpdir before).
     */
    @Test
    void aStartDuringBootsShutdownLeavesNoDirectory(@TempDir Path tmp) throws Exception {
        // Boot's own flag, set as its JVM shutdown hook sets it when it starts running.
        Field hookField = SpringApplication.class.getDeclaredField("shutdownHook");
        hookField.setAccessible(true);
        Object hook = hookField.get(null);
        Field inProgress = hook.getClass().getDeclaredField("inProgress");
        inProgress.setAccessible(true);
        inProgress.setBoolean(hook, true);
        try {
            assertThrows(IllegalStateException.class, () -> TomcatBaseDirectory.create(tmp));
        } finally {
            inProgress.setBoolean(hook, false);
        }
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.toList());
        }
    }
}

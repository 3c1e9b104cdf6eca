package org.serverstarter.undertow;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.RestartsUnderLoad;
import org.serverstarter.testkit.Superdaemon;

/**
 * Hot restarts of {@link UndertowWorker} under load lose no request. Besides clients that send back to back, the load
 * has keep-alive clients that pause between requests and clients that connect first and send later: a drain that
 * closes a connection the client has not closed itself (after a {@code Connection: close} answer) can close it under
 * a request the client is sending, and the client sees the connection close without a response.
 */
class UndertowRestartLoadIT {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.serverstarter.testkit.Superdaemon#available")
    @Timeout(150)
    void hotRestartsUnderLoadLoseNoRequest(Superdaemon superdaemon) throws Exception {
        RestartsUnderLoad.Outcome outcome = RestartsUnderLoad.run(superdaemon,
                ChildJava.command(UndertowWorker.class), pid -> "worker " + pid + " serving", dir);
        for (long retired : outcome.retiredPids()) {
            assertTrue(outcome.output().contains("worker " + retired + " stopped, drained=true"),
                    "every connection of pid " + retired + " closed within the drain timeout; output:\n"
                            + outcome.output());
        }
    }
}

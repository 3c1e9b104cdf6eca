package org.serverstarter.jetty;

import java.nio.file.Path;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.RestartsUnderLoad;
import org.serverstarter.testkit.Superdaemon;

/**
 * Hot restarts of a real Jetty worker under load lose no request. Besides clients that send back to back, the load has
 * keep-alive clients that pause between requests and clients that connect first and send later: a drain that stops
 * the server while one of their connections is open, instead of waiting for the client to close it after a
 * {@code Connection: close} answer, closes it under a request the client sends, and the client sees the connection
 * close without a response (wrk's "read errors" in bench/zero-downtime).
 */
class JettyRestartLoadIT {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.serverstarter.testkit.Superdaemon#available")
    @Timeout(150)
    void hotRestartsUnderLoadLoseNoRequest(Superdaemon superdaemon) throws Exception {
        RestartsUnderLoad.run(superdaemon, ChildJava.command(JettyWorker.class), pid -> "jetty ready gen=1 ", dir);
    }
}

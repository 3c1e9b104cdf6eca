package org.serverstarter.tomcat;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.serverstarter.testkit.ChildJava;
import org.serverstarter.testkit.RestartsUnderLoad;
import org.serverstarter.testkit.Superdaemon;

/**
 * Hot restarts of a real Tomcat worker under load lose no request. Besides clients that send back to back, the load
 * has keep-alive clients that pause between requests and clients that connect first and send later: a drain that
 * stops Tomcat while one of their connections is open, or pauses it (Tomcat then answers 503 and closes kept-alive
 * connections without saying so), loses the request such a client sends.
 */
class TomcatRestartLoadIT {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.serverstarter.testkit.Superdaemon#available")
    @Timeout(150)
    void hotRestartsUnderLoadLoseNoRequest(Superdaemon superdaemon) throws Exception {
        RestartsUnderLoad.Outcome outcome = RestartsUnderLoad.run(superdaemon,
                ChildJava.command(TomcatWorker.class), pid -> "tomcat ready gen=1 ", dir);
        assertFalse(outcome.output().contains("still open"),
                "every retired generation's connections closed within its drain timeout; output:\n"
                        + outcome.output());
    }
}

package org.serverstarter.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** The python3 that test workers and launchers run on. */
public final class Python {
    /**
     * The interpreter itself rather than a wrapper on PATH (pyenv's shims are shell scripts): a signal to the pid a
     * test started must reach the python process, and a worker killed while it starts must leave no wrapper behind.
     */
    public static final String INTERPRETER = interpreter();

    private Python() {
    }

    private static String interpreter() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import sys; print(sys.executable)").start();
            String path = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 && !path.isEmpty() ? path : "python3";
        } catch (IOException e) {
            return "python3";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "python3";
        }
    }
}

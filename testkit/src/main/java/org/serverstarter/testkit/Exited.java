package org.serverstarter.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A child process run to its end: its exit status and everything it printed (stdout and stderr merged). */
public record Exited(int status, String output) {
    /** Starts {@code builder} with its error stream merged, reads it to the end and waits at most {@code timeout}. */
    public static Exited run(ProcessBuilder builder, Duration timeout) throws IOException, InterruptedException {
        Process process = builder.redirectErrorStream(true).start();
        try {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IOException("the process did not exit within " + timeout + ":\n" + output);
            }
            return new Exited(process.exitValue(), output);
        } finally {
            process.destroyForcibly();
        }
    }
}

package org.serverstarter.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A child process run to its end: its exit status and everything it printed (stdout and stderr merged). */
public record Exited(int status, String output) {
    /**
     * Starts {@code builder} with its error stream merged into a file of its own and waits at most {@code timeout};
     * a process still running then is killed, and the wait fails with what it printed.
     */
    public static Exited run(ProcessBuilder builder, Duration timeout) throws IOException, InterruptedException {
        Path output = Files.createTempFile("exited.", ".out");
        try {
            Process process = builder.redirectErrorStream(true).redirectOutput(output.toFile()).start();
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new IOException("the process did not exit within " + timeout + ":\n"
                            + Files.readString(output, StandardCharsets.UTF_8));
                }
                return new Exited(process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
            } finally {
                process.destroyForcibly();
            }
        } finally {
            Files.deleteIfExists(output);
        }
    }
}

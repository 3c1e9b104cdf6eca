package org.serverstarter.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** curl, the HTTP client that users try first, run as a process: at most 10 s per request. */
public final class Curl {
    private Curl() {
    }

    /**
     * GET {@code url} with curl's {@code options} (e.g. {@code --http2-prior-knowledge}); returns the HTTP version
     * curl used and the body, e.g. "2 hello".
     *
     * @throws AssertionError when curl fails or the status is not 2xx
     */
    public static String versionAndBody(String url, String... options) throws IOException, InterruptedException {
        Path body = Files.createTempFile("curl", ".body");
        try {
            List<String> command = new ArrayList<>(List.of("curl", "-sS", "--fail", "--max-time", "10"));
            command.addAll(List.of(options));
            command.addAll(List.of("-o", body.toString(), "-w", "%{http_version}", url));
            Process curl = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!curl.waitFor(20, TimeUnit.SECONDS)) {
                curl.destroyForcibly();
                throw new AssertionError("curl " + String.join(" ", options) + " " + url + " did not end");
            }
            if (curl.exitValue() != 0) {
                throw new AssertionError("curl " + String.join(" ", options) + " " + url + ": exit "
                        + curl.exitValue() + ": " + out);
            }
            return out + " " + Files.readString(body);
        } finally {
            Files.deleteIfExists(body);
        }
    }
}

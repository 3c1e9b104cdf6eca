package org.serverstarter.superdaemon.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.serverstarter.testkit.Superdaemon;

/** Our start_server run to completion (a client mode, or a start that must fail): its status and output. */
record OneShot(int status, String output) {

    static OneShot run(Path dir, Map<String, String> env, String... args) throws IOException, InterruptedException {
        return run(dir, env, List.of(), args);
    }

    /** With {@code prefix} before start_server's path on the command line (sh -c, setpriv, ...). */
    static OneShot run(Path dir, Map<String, String> env, List<String> prefix, String... args)
            throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(prefix);
        argv.add(Superdaemon.JAVA.executable().toString());
        argv.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "oneshot-", ".log");
        ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                throw new AssertionError(String.join(" ", argv) + " still running after 60 s:\n"
                        + Files.readString(out));
            }
            return new OneShot(p.exitValue(), Files.readString(out));
        } finally {
            p.destroyForcibly();
            Files.delete(out);
        }
    }

    /** One line, and never a Java stack trace. */
    boolean isOneCleanLine() {
        return output.lines().count() == 1 && !output.contains("Exception") && !output.contains("\tat ");
    }
}

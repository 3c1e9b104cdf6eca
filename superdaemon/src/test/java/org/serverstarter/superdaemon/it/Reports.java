package org.serverstarter.superdaemon.it;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Repo;

/** The report worker (src/test/resources/workers/report.py) and what it wrote about itself. */
final class Reports {
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Path dir;

    Reports(Path dir) {
        this.dir = dir;
    }

    /**
     * The python3 interpreter itself: where python3 on PATH is a wrapper script (pyenv's shims), a worker killed while
     * it starts would leave the wrapper's helpers running, which is not what these tests are about.
     */
    static final String PYTHON = interpreter();

    /** A python3 that other users may run too (pyenv's lives under /root), for tests that switch users. */
    static final String SYSTEM_PYTHON = "/usr/bin/python3";

    private static String interpreter() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import sys; print(sys.executable)").start();
            String path = new String(p.getInputStream().readAllBytes()).trim();
            return p.waitFor() == 0 && !path.isEmpty() ? path : "python3";
        } catch (IOException e) {
            return "python3";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "python3";
        }
    }

    /** The worker's argv: python3 and the script, run from the source tree. */
    static List<String> worker() {
        return List.of(PYTHON, Repo.root().resolve("superdaemon/src/test/resources/workers/report.py").toString());
    }

    /** Superdaemon options, then {@code --}, then the report worker. */
    static List<String> args(String... options) {
        List<String> args = new ArrayList<>(List.of(options));
        args.add("--");
        args.addAll(worker());
        return args;
    }

    Properties await(long generation) {
        Path file = dir.resolve("report-" + generation + ".properties");
        Await.until("report of generation " + generation, TIMEOUT, () -> Files.exists(file));
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    boolean exists(long generation) {
        return Files.exists(dir.resolve("report-" + generation + ".properties"));
    }

    /** The signals a worker recorded, one name a line. */
    List<String> signals(long pid) {
        Path file = dir.resolve("signals-" + pid);
        try {
            return Files.exists(file) ? Files.readAllLines(file) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void awaitSignal(long pid, String name) {
        Await.until("worker " + pid + " to record " + name, TIMEOUT, () -> signals(pid).contains(name));
    }
}

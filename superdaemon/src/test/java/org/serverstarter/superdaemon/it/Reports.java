package org.serverstarter.superdaemon.it;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Python;
import org.serverstarter.testkit.Repo;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/** The report worker (src/test/resources/workers/report.py) and what it wrote about itself. */
final class Reports {
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Path dir;

    Reports(Path dir) {
        this.dir = dir;
    }

    /** The python3 interpreter that runs the workers (not a wrapper script, see testkit's {@link Python}). */
    static final String PYTHON = Python.INTERPRETER;

    /** A python3 that other users may run too (pyenv's lives under /root), for tests that switch users. */
    static final String SYSTEM_PYTHON = "/usr/bin/python3";

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

    /** Our start_server with {@code options} and the report worker, writing its reports to {@code dir}. */
    static StarterProcess start(Path dir, Map<String, String> env, String... options) {
        Map<String, String> all = new HashMap<>(env);
        all.put("REPORT_DIR", dir.toString());
        return StarterProcess.start(Superdaemon.JAVA, args(options), all, dir);
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

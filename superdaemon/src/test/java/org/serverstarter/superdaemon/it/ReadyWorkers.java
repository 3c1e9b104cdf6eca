package org.serverstarter.superdaemon.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.serverstarter.testkit.Await;
import org.serverstarter.testkit.Repo;
import org.serverstarter.testkit.StarterProcess;
import org.serverstarter.testkit.Superdaemon;

/** The readiness worker (src/test/resources/workers/ready.py) under our start_server, and what it wrote. */
final class ReadyWorkers {
    private final Path dir;

    ReadyWorkers(Path dir) {
        this.dir = dir;
    }

    /** Our start_server with {@code options}, running the worker with {@code env} (see ready.py for the knobs). */
    StarterProcess start(Map<String, String> env, String... options) {
        List<String> args = new ArrayList<>(List.of(options));
        args.addAll(List.of("--", Reports.PYTHON,
                Repo.root().resolve("superdaemon/src/test/resources/workers/ready.py").toString()));
        Map<String, String> all = new HashMap<>(env);
        all.put("REPORT_DIR", dir.toString());
        return StarterProcess.start(Superdaemon.JAVA, args, all, dir);
    }

    /** The pid of the worker of {@code generation}, once it has started. */
    long pidOf(long generation) {
        Path file = dir.resolve("pid-" + generation);
        Await.until("generation " + generation + " to start", Reports.TIMEOUT, () -> read(file).matches("\\d+"));
        return Long.parseLong(read(file));
    }

    /** The NOTIFY_SOCKET the worker of {@code generation} was given, "" for none, or "" if it has not started. */
    String notifySocket(long generation) {
        return read(dir.resolve("notify-" + generation));
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "";
        }
    }
}

package org.serverstarter.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * A superdaemon started by a test, in its own session so that its pid is also the process group id of every worker
 * it spawns. {@link #close()} therefore cleans up the whole tree, even workers the superdaemon left behind.
 */
public final class StarterProcess implements AutoCloseable {
    private static final Duration TERM_GRACE = Duration.ofSeconds(10);

    private final Process process;
    private final Path log;

    private StarterProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * Runs {@code which} with {@code args} (superdaemon options, {@code --}, worker argv) in {@code workDir}, with
     * stdout and stderr merged into {@code workDir/start_server-<n>.log}.
     */
    public static StarterProcess start(Superdaemon which, List<String> args, Map<String, String> extraEnv,
                                       Path workDir) {
        return start(List.of(which.executable().toString()), args, extraEnv, workDir);
    }

    /** As {@link #start(Superdaemon, List, Map, Path)}, through another launcher (a copy a test can break). */
    public static StarterProcess start(Path executable, List<String> args, Map<String, String> extraEnv,
                                       Path workDir) {
        return start(List.of(executable.toString()), args, extraEnv, workDir);
    }

    /**
     * As {@link #start(Superdaemon, List, Map, Path)}, for a start_server named by {@code command}: an installed
     * copy, or one behind a wrapper that execs in place (setpriv), so that the pid is still start_server's.
     */
    public static StarterProcess start(List<String> command, List<String> args, Map<String, String> extraEnv,
                                       Path workDir) {
        List<String> argv = new ArrayList<>();
        // setsid(1) execs in place when the caller is not a group leader (a fresh child never is), so the pid stays.
        argv.add("setsid");
        argv.addAll(command);
        argv.addAll(args);
        try {
            Path log = Files.createTempFile(workDir, "start_server-", ".log");
            ProcessBuilder pb = new ProcessBuilder(argv).directory(workDir.toFile())
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            pb.environment().putAll(extraEnv);
            return new StarterProcess(pb.start(), log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public long pid() {
        return process.pid();
    }

    /** Everything the superdaemon and its workers printed so far. */
    public String output() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until the output contains a match for {@code regex} (multi-line mode). */
    public void awaitOutput(String regex, Duration timeout) {
        Pattern p = Pattern.compile(regex, Pattern.MULTILINE);
        try {
            Await.until("output matching /" + regex + "/", timeout, () -> p.matcher(output()).find());
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; output so far:\n" + output(), e);
        }
    }

    /** Sends the named signal ("HUP", "TERM", ...) to the superdaemon only. */
    public void signal(String name) {
        int status = kill("-s", name, Long.toString(pid()));
        if (status != 0) {
            throw new AssertionError("kill -s " + name + " " + pid() + " failed with status " + status);
        }
    }

    /** Waits for the superdaemon to exit and returns its exit status. */
    public int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("start_server " + pid() + " still running after " + timeout.toMillis()
                        + " ms; output:\n" + output());
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /**
     * TERM, up to 10 s grace, then KILL for the whole process group, which also takes any orphaned worker, and for
     * every descendant seen before the TERM, which takes workers in sessions of their own too.
     */
    @Override
    public void close() {
        List<ProcessHandle> tree = process.descendants().toList();
        try {
            // Not signal(): a superdaemon the test killed may be reaped between isAlive() and kill, which then fails.
            if (process.isAlive() && kill("-s", "TERM", Long.toString(pid())) == 0) {
                process.waitFor(TERM_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            // Exit status ignored on purpose: the group is usually gone already when close() sweeps it.
            kill("-s", "KILL", "--", "-" + pid());
            tree.forEach(ProcessHandle::destroyForcibly);
            try {
                process.waitFor(TERM_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static int kill(String... args) {
        List<String> argv = new ArrayList<>(List.of("/bin/kill"));
        argv.addAll(List.of(args));
        try {
            Process kill = new ProcessBuilder(argv).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!kill.waitFor(10, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
                return -1;
            }
            return kill.exitValue();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}

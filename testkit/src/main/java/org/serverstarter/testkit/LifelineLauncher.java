package org.serverstarter.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts a worker as a superdaemon with a lifeline does, independent of the superdaemon under development and of the
 * code under test: a python3 launcher binds a listening socket on 127.0.0.1, makes a pipe, and starts the worker with
 * the socket in {@code SERVER_STARTER_PORT} and the pipe's read end in {@code SERVER_STARTER_LIFELINE}, keeping the
 * only write end itself. The launcher closes that write end when told to ({@link #cut()}), or the kernel does when the
 * launcher is killed ({@link #killLauncher()}), and the launcher exits with the worker's exit status.
 *
 * <p>What {@code SERVER_STARTER_LIFELINE} holds is the {@link Variable} argument of {@link #start}; the pipe and a
 * read-only fd on {@code /dev/null} are passed to the worker in every case, so that a worker that watched an fd it
 * was not told about would be caught too. The worker's stdout and the launcher's own {@code launcher: ...} lines go
 * to one file, the worker's stderr to another.
 */
public final class LifelineLauncher implements AutoCloseable {
    /** What {@code SERVER_STARTER_LIFELINE} holds in the worker. */
    public sealed interface Variable {
        /** The fd of the pipe's read end: the real thing. */
        Variable PIPE = new Named("pipe");
        /** Not set at all (Perl's start_server). */
        Variable ABSENT = new Named("absent");
        /** The fd of {@code /dev/null}, open but not a pipe. */
        Variable DEV_NULL = new Named("dev-null");
        /** The fd of the listening socket, open but not a pipe. */
        Variable SOCKET = new Named("socket");

        /** This text as it is, e.g. {@code abc} or {@code -1}. */
        static Variable value(String text) {
            return new Value(text);
        }

        String spec();
    }

    private record Named(String spec) implements Variable {
        @Override
        public String toString() {
            return spec;
        }
    }

    private record Value(String text) implements Variable {
        @Override
        public String spec() {
            return "value:" + text;
        }

        @Override
        public String toString() {
            return "\"" + text + "\"";
        }
    }

    // Exits with the worker's status, or kills the worker when its stdin closes, so that neither outlives the test.
    private static final String SCRIPT = """
            import os, socket, subprocess, sys, threading
            spec, argv = sys.argv[1], sys.argv[2:]
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(('127.0.0.1', 0))
            listener.listen(128)
            port = listener.getsockname()[1]
            read_end, write_end = os.pipe()
            dev_null = os.open(os.devnull, os.O_RDONLY)
            env = dict(os.environ)
            env.pop('SERVER_STARTER_LIFELINE', None)
            env['SERVER_STARTER_PORT'] = '127.0.0.1:%d=%d' % (port, listener.fileno())
            env['SERVER_STARTER_GENERATION'] = '1'
            fds = {'pipe': read_end, 'dev-null': dev_null, 'socket': listener.fileno()}
            if spec.startswith('value:'):
                env['SERVER_STARTER_LIFELINE'] = spec[len('value:'):]
            elif spec != 'absent':
                env['SERVER_STARTER_LIFELINE'] = str(fds[spec])
            worker = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                      pass_fds=(listener.fileno(), read_end, dev_null))
            os.close(read_end)
            print('launcher: worker pid=%d port=%d pipe=%d' % (worker.pid, port, read_end), flush=True)
            def obey():
                for line in sys.stdin:
                    if line.strip() == 'cut':
                        os.close(write_end)
                        print('launcher: lifeline cut', flush=True)
                worker.kill()
            threading.Thread(target=obey, daemon=True).start()
            status = worker.wait()
            print('launcher: worker exited with %d' % status, flush=True)
            sys.exit(status if status >= 0 else 128 - status)
            """;
    private static final Pattern STARTED = Pattern.compile("^launcher: worker pid=(\\d+) port=(\\d+) pipe=(\\d+)$",
            Pattern.MULTILINE);
    private static final Duration START = Duration.ofSeconds(30);

    private final Process launcher;
    private final OutputStream commands;
    private final Path out;
    private final Path err;
    private final ProcessHandle worker;
    private final int port;
    private final int pipe;

    private LifelineLauncher(Process launcher, Path out, Path err, ProcessHandle worker, int port, int pipe) {
        this.launcher = launcher;
        this.commands = launcher.getOutputStream();
        this.out = out;
        this.err = err;
        this.worker = worker;
        this.port = port;
        this.pipe = pipe;
    }

    /** Starts {@code workerArgv} with {@code lifeline} in its environment, its output in files under {@code dir}. */
    public static LifelineLauncher start(Variable lifeline, List<String> workerArgv, Path dir) throws IOException {
        return start(lifeline, workerArgv, Map.of(), dir);
    }

    /** {@link #start(Variable, List, Path)} with {@code env} added to the worker's environment. */
    public static LifelineLauncher start(Variable lifeline, List<String> workerArgv, Map<String, String> env,
            Path dir) throws IOException {
        Path out = Files.createTempFile(dir, "worker-", ".out");
        Path err = Files.createTempFile(dir, "worker-", ".err");
        List<String> argv = new ArrayList<>(List.of(Python.INTERPRETER, "-c", SCRIPT, lifeline.spec()));
        argv.addAll(workerArgv);
        ProcessBuilder pb = new ProcessBuilder(argv).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(env);
        Process launcher = pb.start();
        try {
            Matcher m = STARTED.matcher("");
            Await.until("the launcher to start the worker", START,
                    () -> !launcher.isAlive() || m.reset(read(out)).find());
            if (!m.find(0)) {
                throw new AssertionError("the launcher did not start the worker:\n" + read(out) + read(err));
            }
            ProcessHandle worker = ProcessHandle.of(Long.parseLong(m.group(1))).orElseThrow(
                    () -> new AssertionError("the worker exited at once:\n" + read(out) + read(err)));
            return new LifelineLauncher(launcher, out, err, worker, Integer.parseInt(m.group(2)),
                    Integer.parseInt(m.group(3)));
        } catch (RuntimeException | Error e) {
            launcher.destroyForcibly();
            throw e;
        }
    }

    /** The address the worker serves, on the socket the launcher bound. */
    public InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", port);
    }

    /** The fd number of the pipe's read end in the worker. */
    public int pipeFd() {
        return pipe;
    }

    public ProcessHandle worker() {
        return worker;
    }

    /** Closes the pipe's write end, as a superdaemon's death would, and waits until the launcher has. */
    public void cut() throws IOException {
        commands.write("cut\n".getBytes(StandardCharsets.US_ASCII));
        commands.flush();
        awaitOutput("^launcher: lifeline cut$", START);
    }

    /** {@code kill -9} of the launcher, which leaves the worker an orphan whose pipe has no writer. */
    public void killLauncher() throws InterruptedException {
        launcher.destroyForcibly();
        if (!launcher.waitFor(START.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the launcher survived KILL");
        }
    }

    /** Waits for the worker to exit and returns its exit status, as the launcher reports it. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!launcher.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the worker still runs after " + timeout.toMillis() + " ms; stdout:\n"
                    + stdout() + "stderr:\n" + stderr());
        }
        return launcher.exitValue();
    }

    /** Waits until the worker's stdout (or the launcher's lines) match {@code regex} (multi-line mode). */
    public void awaitOutput(String regex, Duration timeout) {
        Pattern p = Pattern.compile(regex, Pattern.MULTILINE);
        try {
            Await.until("output matching /" + regex + "/", timeout, () -> p.matcher(stdout()).find());
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; stdout:\n" + stdout() + "stderr:\n" + stderr(), e);
        }
    }

    public String stdout() {
        return read(out);
    }

    public String stderr() {
        return read(err);
    }

    /** The lines of the worker's stderr about its lifeline, among whatever else its framework logs there. */
    public List<String> lifelineLines() {
        return stderr().lines().filter(l -> l.contains("SERVER_STARTER_LIFELINE") || l.startsWith("start_server is gone"))
                .toList();
    }

    /** Kills the worker and the launcher, whichever still runs. */
    @Override
    public void close() {
        try {
            commands.close();
        } catch (IOException e) {
            // The launcher is gone already; it is killed below either way.
        }
        worker.destroyForcibly();
        launcher.destroyForcibly();
        try {
            worker.onExit().get(START.toMillis(), TimeUnit.MILLISECONDS);
            launcher.waitFor(START.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw new AssertionError("could not stop worker " + worker.pid(), e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

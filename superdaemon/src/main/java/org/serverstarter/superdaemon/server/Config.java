package org.serverstarter.superdaemon.server;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.cli.PortSpec;
import org.serverstarter.superdaemon.cli.Seconds;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.Signals;

/**
 * Every option, validated and with its default, resolved in one place before anything is created. The parser
 * ({@code CommandLine}) only checks syntax (Getopt's errors, exit 1); each value an option cannot take is refused
 * here, in one line, with its documented exit status (docs/compatibility.md and the README).
 *
 * @param activated   the sockets systemd passed (socket activation), or null
 * @param program     the program's path as the worker's {@code execvp} would find it
 * @param readyTimeout 0 for Perl's judging by {@code --interval}, else the READY=1 deadline ({@code --readiness=notify})
 * @param metrics     where {@code --metrics} listens, or null
 */
public record Config(List<PortSpec> ports, List<String> paths, int pathMode, int backlog, List<Integer> activated,
              String program, List<String> argv, String dir, long interval, String signalOnHup, int signalOnHupNumber,
              String signalOnTerm, int signalOnTermNumber, long killTimeout, long maxBackoff, long readyTimeout,
              int newWorkerNice, InetSocketAddress metrics) {

    private static final int ENOENT = 2;
    private static final Pattern METRICS = Pattern.compile("(?:\\[([0-9A-Fa-f:.]+)\\]:|([^:\\[\\]]+):)?(\\d{1,5})");
    private static final int ENOTDIR = 20;

    /**
     * Checks what every mode needs (the client modes too): before a client signals anything, or the superdaemon
     * starts, a bad duration is refused.
     */
    public static void checkCommon(Options options) {
        options.durations().forEach((name, seconds) -> {
            if (seconds != null && seconds < 0) {
                throw Fatal.of("invalid --" + name + " value:" + seconds + " (0 or more seconds)");
            }
        });
        if (options.format() != null) {
            if (!options.format().equals("json") && !options.format().equals("text")) {
                throw Fatal.of("invalid --format value:" + options.format() + " (json or text)");
            }
            if (!options.status()) {
                throw Fatal.of("--format is an option of --status");
            }
        }
    }

    /**
     * The superdaemon's configuration. {@code inherited} is start_server's own environment (systemd's variables);
     * {@code environment} the workers' (their PATH, which the envdir may set).
     */
    static Config resolve(Options options, Map<String, String> inherited, Environment environment) {
        checkCommon(options);
        if (options.daemonize() && options.logFile() == null) {
            throw Fatal.of("Usage: --log-file option must be specified together with --daemonize");
        }
        if (options.program().isEmpty()) {
            throw Fatal.of("server program not specified");
        }
        List<Integer> activated = Systemd.activatedFds(inherited.get("LISTEN_FDS"), inherited.get("LISTEN_PID"));
        if (activated != null && !(options.ports().isEmpty() && options.paths().isEmpty())) {
            throw Fatal.of("--port and --path cannot be used when systemd passes the sockets (LISTEN_FDS="
                    + activated.size() + ")");
        }
        String signalOnHup = Signals.normalise(options.signalOnHup(), "TERM");
        String signalOnTerm = Signals.normalise(options.signalOnTerm(), "TERM");
        int hupNumber = signalNumber("--signal-on-hup", signalOnHup);
        int termNumber = signalNumber("--signal-on-term", signalOnTerm);
        List<PortSpec> ports = new ArrayList<>();
        for (String port : options.ports()) {
            try {
                ports.add(PortSpec.parse(port));
            } catch (IllegalArgumentException e) {
                throw Fatal.of(e.getMessage());
            }
        }
        int pathMode = pathMode(options.pathMode());
        checkFileNames(options);
        Listeners.workerFds(ports, options.paths().size(), options.logFile() != null);
        checkDirectory(options.dir(), "failed to chdir:");
        // Perl silently loads nothing from a missing envdir; a mistyped one would start workers without their settings.
        checkDirectory(options.envdir(), "envdir is not a directory:");
        String program = ProgramPath.resolve(options.program().get(0), environment.get("PATH"), options.dir());
        long backlog = options.backlog() == null || options.backlog() == 0 ? Posix.SOMAXCONN : options.backlog();
        return new Config(ports, options.paths(), pathMode, (int) Math.max(Integer.MIN_VALUE,
                Math.min(backlog, Integer.MAX_VALUE)), activated, program, options.program(), options.dir(),
                options.interval() == null ? 1 : Seconds.clamp(options.interval()), signalOnHup, hupNumber,
                signalOnTerm, termNumber, Seconds.clamp(orZero(options.killTimeout())),
                Seconds.clamp(orZero(options.maxBackoff())), readyTimeout(options), newWorkerNice(options),
                metrics(options.metrics()));
    }

    /**
     * {@code --metrics}: {@code HOST:PORT}, {@code [V6]:PORT}, or a bare {@code PORT} for 127.0.0.1 (loopback, unlike
     * a bare {@code --port}: the numbers are for a local scraper or an agent, not for the world). Port 0 lets the
     * kernel choose; start_server then logs the address.
     */
    private static InetSocketAddress metrics(String value) {
        if (value == null) {
            return null;
        }
        Matcher m = METRICS.matcher(value);
        String bad = "invalid --metrics value:" + value + " (HOST:PORT, such as 127.0.0.1:9100)";
        if (!m.matches()) {
            throw Fatal.of(bad);
        }
        String host = m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : "127.0.0.1";
        int port = Integer.parseInt(m.group(3));
        if (port > 65535) {
            throw Fatal.of(bad);
        }
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved()) {
            throw Fatal.of("invalid --metrics value:" + value + " (unknown host " + host + ")");
        }
        return address;
    }

    /**
     * Names the JVM cannot encode (non-ASCII under {@code LC_ALL=C}) would reach the system mangled, as another file:
     * {@link Path#of} refuses them here, in one line ({@code Main}); and a status file needs a name of its own beside
     * which its temporary files go.
     */
    private static void checkFileNames(Options options) {
        List<String> names = new ArrayList<>(options.paths());
        for (String name : new String[] {options.pidFile(), options.statusFile(), options.dir(), options.envdir(),
                options.logFile() == null || LogOutput.isCommand(options.logFile()) ? null : options.logFile()}) {
            if (name != null) {
                names.add(name);
            }
        }
        names.forEach(Path::of);
        if (options.statusFile() != null && Path.of(options.statusFile()).getFileName() == null) {
            throw Fatal.of("invalid --status-file value:" + options.statusFile() + " (a file name is needed)");
        }
    }

    private static void checkDirectory(String dir, String prefix) {
        if (dir != null && !Files.isDirectory(Path.of(dir))) {
            boolean exists = Files.exists(Path.of(dir));
            throw new Fatal(prefix + dir + ":" + (exists ? "Not a directory" : "No such file or directory"),
                    exists ? ENOTDIR : ENOENT);
        }
    }

    private static int signalNumber(String option, String name) {
        int number = Signals.number(name).orElseThrow(
                () -> Fatal.of("Unrecognized signal name \"" + name + "\" (" + option + ")"));
        if (Signals.cannotEndAWorker(number)) {
            throw Fatal.of("signal " + name + " cannot stop a worker (" + option + ")");
        }
        return number;
    }

    /** {@code --path-mode}: an octal mode for the unix sockets, 0777 (Perl's) when absent. */
    private static int pathMode(String value) {
        if (value == null) {
            return 0777;
        }
        if (!value.matches("0?[0-7]{1,3}")) {
            throw Fatal.of("invalid --path-mode value:" + value + " (an octal mode from 0 to 0777, such as 0660)");
        }
        return Integer.parseInt(value, 8);
    }

    private static long readyTimeout(Options options) {
        String mode = options.readiness() == null ? "interval" : options.readiness();
        if (mode.equals("interval")) {
            return 0;
        }
        if (!mode.equals("notify")) {
            throw Fatal.of("invalid --readiness value:" + mode + " (interval or notify)");
        }
        return options.readyTimeout() == null || options.readyTimeout() <= 0 ? 60
                : Seconds.clamp(options.readyTimeout());
    }

    private static int newWorkerNice(Options options) {
        long nice = options.newWorkerNice() == null ? 0 : options.newWorkerNice();
        if (nice < 0 || nice > 19) {
            throw Fatal.of("invalid --new-worker-nice value:" + nice + " (0 to 19)");
        }
        return (int) nice;
    }

    private static long orZero(Long value) {
        return value == null ? 0 : value;
    }
}

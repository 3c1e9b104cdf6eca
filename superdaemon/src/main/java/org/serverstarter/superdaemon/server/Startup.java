package org.serverstarter.superdaemon.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.cli.PortSpec;
import org.serverstarter.superdaemon.cli.Seconds;
import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.Signals;
import org.serverstarter.superdaemon.posix.SpawnRequest;

import sun.misc.Signal;

/**
 * start_server's start-up, in Perl's order (spec section 2), then the {@link Supervisor} loop, then the clean-up.
 * Everything that can be checked without side effects (options, signal names, ports, program, directory, the status
 * file's directory) is checked before the first socket is bound, so a bad input leaves nothing behind.
 */
public final class Startup {
    private Startup() {
    }

    /** The variable that names the lifeline's fd in every worker. */
    static final String LIFELINE_VARIABLE = "SERVER_STARTER_LIFELINE";

    /** Runs the superdaemon; returns the exit status. */
    public static int run(Options options) {
        String handoffValue = System.getenv(Daemon.FDS_VARIABLE);
        Daemon.Handoff handoff = handoffValue == null ? null : Daemon.parse(handoffValue);
        Map<String, String> inherited = new HashMap<>(System.getenv());
        inherited.remove(Daemon.FDS_VARIABLE);
        Environment environment = new Environment(inherited, options);
        List<Integer> activated = Systemd.activatedFds(inherited.get("LISTEN_FDS"), inherited.get("LISTEN_PID"));
        if (activated != null && !(options.ports().isEmpty() && options.paths().isEmpty())) {
            throw Fatal.of("--port and --path cannot be used when systemd passes the sockets (LISTEN_FDS="
                    + activated.size() + ")");
        }
        Systemd.VARIABLES.forEach(name -> environment.overrideForWorkers(name, null));
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
        Listeners.workerFds(ports, options.paths().size(), options.logFile() != null);
        if (options.dir() != null && !Files.isDirectory(Path.of(options.dir()))) {
            throw new Fatal("failed to chdir:" + options.dir() + ":"
                    + (Files.exists(Path.of(options.dir())) ? "Not a directory" : "No such file or directory"),
                    Files.exists(Path.of(options.dir())) ? 20 : 2);
        }
        if (options.envdir() != null && !Files.isDirectory(Path.of(options.envdir()))) {
            // Perl silently loads nothing; a mistyped --envdir would then start workers without their settings.
            boolean exists = Files.exists(Path.of(options.envdir()));
            throw new Fatal("envdir is not a directory:" + options.envdir() + ":"
                    + (exists ? "Not a directory" : "No such file or directory"), exists ? 20 : 2);
        }
        String program = ProgramPath.resolve(options.program().get(0), environment.get("PATH"), options.dir());
        long backlog = options.backlog() == null || options.backlog() == 0 ? Posix.SOMAXCONN : options.backlog();
        StatusFile statusFile = options.statusFile() == null ? null : new StatusFile(options.statusFile());
        long readyTimeout = readyTimeout(options);
        int newWorkerNice = newWorkerNice(options);
        Throwable nativeProblem = Posix.unavailabilityCause();
        if (nativeProblem != null) {
            throw Fatal.of("cannot load the native C library through jnr-ffi: " + nativeProblem);
        }

        PosixOs os = new PosixOs();
        installSignalHandlers(os);
        try (Cleanup cleanup = new Cleanup()) {
            if (statusFile != null) {
                statusFile.checkWritable();
                cleanup.add(statusFile::removeIfCreated);
            }
            // The lock comes before anything is bound or removed: a second instance must not touch the sockets of
            // the one that runs, and its errors must reach the terminal, not a log nobody reads.
            PidFile pidFile = null;
            if (options.pidFile() != null) {
                pidFile = handoff != null && handoff.pidFile() >= 0
                        ? PidFile.adopt(options.pidFile(), handoff.pidFile()) : PidFile.acquire(options.pidFile());
                cleanup.addLast(pidFile::remove);
                pidFile.write(ProcessHandle.current().pid());
            }
            boolean daemonizing = options.daemonize() && handoff == null;
            LogOutput log = openLog(options.logFile(), handoff != null, daemonizing, environment);
            Listeners listeners;
            if (handoff != null) {
                listeners = Listeners.adopt(ports, options.paths(), handoff.sockets(), options.logFile() != null,
                        cleanup);
            } else if (activated != null) {
                System.err.println("start_server (pid:" + ProcessHandle.current().pid() + ") starting now...");
                listeners = Listeners.activated(activated, options.logFile() != null);
            } else {
                System.err.println("start_server (pid:" + ProcessHandle.current().pid() + ") starting now...");
                listeners = Listeners.bind(ports, options.paths(), pathMode,
                        (int) Math.min(backlog, Integer.MAX_VALUE), options.logFile() != null, cleanup);
            }
            if (daemonizing) {
                long daemon = Daemon.launch(listeners.fds(), log == null ? -1 : log.fd(),
                        pidFile == null ? -1 : pidFile.fd());
                if (pidFile != null) {
                    pidFile.write(daemon); // the daemon writes it too; --stop may come before it does
                }
                cleanup.dismissAll();
                return 0;
            }
            // The lifeline: workers inherit the read end, only start_server holds the write end (never written), so
            // they see end-of-file the moment start_server is gone, even after a kill -9.
            int[] lifeline;
            try {
                lifeline = Posix.pipe();
            } catch (ErrnoException e) {
                throw Fatal.of("failed to create the lifeline pipe:", e);
            }
            int lifelineFd = listeners.spareWorkerFd();
            environment.overrideForWorkers(LIFELINE_VARIABLE, Integer.toString(lifelineFd));
            List<SpawnRequest.Placement> placements = new ArrayList<>(listeners.placements());
            placements.add(new SpawnRequest.Placement(lifeline[0], lifelineFd));
            Supervisor supervisor = new Supervisor(new Supervisor.Settings(program, options.program(), options.dir(),
                    options.interval() == null ? 1 : Seconds.clamp(options.interval()), signalOnHup, hupNumber,
                    signalOnTerm, termNumber, listeners.serverStarterPort(), placements,
                    Seconds.clamp(orZero(options.killTimeout())), Seconds.clamp(orZero(options.maxBackoff())),
                    readyTimeout, newWorkerNice),
                    environment, statusFile, os, System.err::println);
            if (readyTimeout > 0) {
                environment.overrideForWorkers("NOTIFY_SOCKET", NotifyListener.open(os::post).address());
            }
            supervisor.useSystemd(Systemd.notifier(inherited.get("NOTIFY_SOCKET")));
            if (log != null) {
                if (log.fd() >= 0) {
                    log.redirect();
                }
                supervisor.useLog(log);
            }
            try {
                supervisor.run();
            } catch (RuntimeException | Error e) {
                // Do not leave workers serving without a superdaemon.
                supervisor.stopWorkersQuietly();
                throw e;
            }
        }
        return 0;
    }

    /**
     * The log, opened by the process that keeps it: a file by the foreground (a daemon inherits it as its stdout and
     * stderr), a {@code | command} by the process that supervises (the daemon, when daemonizing).
     */
    private static LogOutput openLog(String spec, boolean isDaemon, boolean daemonizing, Environment environment) {
        if (spec == null) {
            return null;
        }
        boolean command = LogOutput.isCommand(spec);
        if (isDaemon && !command) {
            return LogOutput.inherited(spec);
        }
        if (daemonizing && command) {
            return null;
        }
        return LogOutput.open(spec, environment.forWorker("", 0));
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

    /** 0 for Perl's judging by {@code --interval}; the READY=1 deadline in seconds for {@code --readiness=notify}. */
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

    /** 0 (off) or the nice value a new worker's autogroup has while it starts beside others; see {@link Autogroup}. */
    private static int newWorkerNice(Options options) {
        long nice = options.newWorkerNice() == null ? 0 : options.newWorkerNice();
        if (nice < 0 || nice > 19) {
            throw Fatal.of("invalid --new-worker-nice value:" + nice + " (0 to 19)");
        }
        String unavailability = nice > 0 ? Autogroup.unavailability() : null;
        if (unavailability != null) {
            System.err.println("--new-worker-nice has no effect: " + unavailability);
        }
        return (int) nice;
    }

    private static long orZero(Long value) {
        return value == null ? 0 : value;
    }

    private static int signalNumber(String option, String name) {
        int number = Signals.number(name).orElseThrow(
                () -> Fatal.of("Unrecognized signal name \"" + name + "\" (" + option + ")"));
        if (Signals.cannotEndAWorker(number)) {
            throw Fatal.of("signal " + name + " cannot stop a worker (" + option + ")");
        }
        return number;
    }

    /**
     * Handlers only queue the signal for the supervisor's thread. Inherited "ignore" dispositions (nohup, a shell's
     * {@code &}) are reset first, or the JVM would never see those signals. PIPE is ignored, as in Perl, so that a
     * closed log pipe does not kill us and workers inherit it ignored.
     */
    private static void installSignalHandlers(PosixOs os) {
        for (String name : List.of("HUP", "INT", "TERM", "ALRM", "USR1")) {
            Posix.defaultSignal(Signals.number(name).getAsInt());
            Signal.handle(new Signal(name), s -> os.post(new Event.Signal(name)));
        }
        Signal.handle(new Signal("CHLD"), s -> os.post(Event.CHILD_EXITED));
        Posix.ignoreSignal(Signals.PIPE);
    }
}

package org.serverstarter.superdaemon.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.cli.PortSpec;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.Signals;

import sun.misc.Signal;

/**
 * start_server's start-up, in Perl's order (spec section 2), then the {@link Supervisor} loop, then the clean-up.
 * Everything that can be checked without side effects (options, signal names, ports, program, directory, the status
 * file's directory) is checked before the first socket is bound, so a bad input leaves nothing behind.
 */
public final class Startup {
    private Startup() {
    }

    /** Runs the superdaemon; returns the exit status. */
    public static int run(Options options) {
        String inheritedFds = System.getenv(Daemon.FDS_VARIABLE);
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

        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        installSignalHandlers(events);
        try (Cleanup cleanup = new Cleanup()) {
            if (statusFile != null) {
                statusFile.checkWritable();
                cleanup.add(statusFile::removeIfCreated);
            }
            LogOutput log = options.logFile() == null || inheritedFds != null ? null
                    : LogOutput.open(options.logFile(), environment.forWorker("", 0));
            Listeners listeners;
            if (inheritedFds != null) {
                listeners = Listeners.adopt(ports, options.paths(), Daemon.inheritedFds(inheritedFds),
                        options.logFile() != null, cleanup);
            } else if (activated != null) {
                System.err.println("start_server (pid:" + ProcessHandle.current().pid() + ") starting now...");
                listeners = Listeners.activated(activated, options.logFile() != null);
            } else {
                System.err.println("start_server (pid:" + ProcessHandle.current().pid() + ") starting now...");
                listeners = Listeners.bind(ports, options.paths(), (int) Math.min(backlog, Integer.MAX_VALUE),
                        options.logFile() != null, cleanup);
            }
            if (options.daemonize() && inheritedFds == null) {
                Daemon.launch(listeners.fds(), log.fd());
                cleanup.dismissAll();
                return 0;
            }
            Supervisor supervisor = new Supervisor(new Supervisor.Settings(program, options.program(), options.dir(),
                    options.interval() == null ? 1 : options.interval(), signalOnHup, hupNumber, signalOnTerm,
                    termNumber, listeners.serverStarterPort(), listeners.placements(),
                    positive(options.killTimeout()), positive(options.maxBackoff()), readyTimeout, newWorkerNice),
                    environment,
                    statusFile, events);
            if (readyTimeout > 0) {
                NotifyListener notify = NotifyListener.open(events::add);
                cleanup.add(notify::remove);
                environment.overrideForWorkers("NOTIFY_SOCKET", notify.path());
            }
            supervisor.useSystemd(Systemd.notifier(inherited.get("NOTIFY_SOCKET")));
            if (log != null) {
                log.redirect();
                supervisor.useLog(log);
            } else if (options.logFile() != null) {
                supervisor.useLog(LogOutput.inherited(options.logFile()));
            }
            if (options.pidFile() != null) {
                PidFile pidFile = PidFile.acquire(options.pidFile());
                cleanup.addLast(pidFile::remove);
            }
            try {
                supervisor.run();
            } catch (Fatal e) {
                // Do not leave orphans behind, as Perl does when its status file cannot be written.
                for (long pid : supervisor.livePids()) {
                    try {
                        Posix.kill(pid, Signals.TERM);
                    } catch (Exception ignored) {
                        // Already gone.
                    }
                }
                throw e;
            }
        }
        return 0;
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
        return options.readyTimeout() == null || options.readyTimeout() <= 0 ? 60 : options.readyTimeout();
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

    private static long positive(Long value) {
        return value == null ? 0 : Math.max(0, value);
    }

    private static int signalNumber(String option, String name) {
        return Signals.number(name).orElseThrow(
                () -> Fatal.of("Unrecognized signal name \"" + name + "\" (" + option + ")"));
    }

    /**
     * Handlers only queue the signal for the supervisor's thread. Inherited "ignore" dispositions (nohup, a shell's
     * {@code &}) are reset first, or the JVM would never see those signals. PIPE is ignored, as in Perl, so that a
     * closed log pipe does not kill us and workers inherit it ignored.
     */
    private static void installSignalHandlers(BlockingQueue<String> events) {
        for (String name : List.of("HUP", "INT", "TERM", "ALRM", "USR1")) {
            Posix.defaultSignal(Signals.number(name).getAsInt());
            Signal.handle(new Signal(name), s -> events.add(name));
        }
        Signal.handle(new Signal("CHLD"), s -> events.add("CHLD"));
        Posix.ignoreSignal(Signals.PIPE);
    }
}

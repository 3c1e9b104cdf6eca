package org.serverstarter.superdaemon.server;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.Signals;
import org.serverstarter.superdaemon.posix.SpawnRequest;

import sun.misc.Signal;

/**
 * start_server's start-up, in Perl's order (spec section 2), then the {@link Supervisor} loop, then the clean-up.
 * Everything that can be checked without side effects (every option, in {@link Config}; then the status file's
 * directory and the pid file's lock) is checked before the first socket is bound, so a bad input leaves nothing
 * behind.
 */
public final class Startup {
    private Startup() {
    }

    /** The variable that names the lifeline's fd in every worker. */
    static final String LIFELINE_VARIABLE = "SERVER_STARTER_LIFELINE";

    /**
     * {@code --upgrade}'s check, run by the image about to be replaced with its own command line and
     * {@link Upgrade#CHECK_VARIABLE}: resolves the configuration as a start would, touches nothing, and says which
     * start_server and JDK would take over.
     */
    public static boolean isUpgradeCheck() {
        return System.getenv(Upgrade.CHECK_VARIABLE) != null;
    }

    public static int checkUpgrade(Options options) {
        Map<String, String> inherited = new HashMap<>(System.getenv());
        inherited.remove(Upgrade.CHECK_VARIABLE);
        Config.resolve(options, inherited, new Environment(inherited, options));
        Throwable nativeProblem = Posix.unavailabilityCause();
        if (nativeProblem != null) {
            throw Fatal.of("cannot load the native C library through jnr-ffi: " + nativeProblem);
        }
        System.out.println(Upgrade.CHECK_OK + " " + Startup.class.getPackage().getImplementationVersion() + " java "
                + System.getProperty("java.version"));
        return 0;
    }

    /** Runs the superdaemon; returns the exit status. {@code arguments} is the command line, for --upgrade. */
    public static int run(Options options, List<String> arguments) {
        Map<String, String> inherited = new HashMap<>(System.getenv());
        inherited.remove(Daemon.FDS_VARIABLE);
        // The state an upgraded image takes over; read (and its variable dropped) before any worker could see it.
        Upgrade.State upgraded = Upgrade.inherited(inherited.remove(Upgrade.STATE_VARIABLE));
        inherited.remove(Upgrade.CHECK_VARIABLE);
        Environment environment = new Environment(inherited, options);
        Config config = Config.resolve(options, inherited, environment);
        String handoffValue = upgraded != null ? null : System.getenv(Daemon.FDS_VARIABLE);
        Daemon.Handoff handoff = upgraded != null ? new Daemon.Handoff(upgraded.fds().sockets(),
                upgraded.fds().pidFile()) : handoffValue == null ? null : Daemon.parse(handoffValue);
        Systemd.VARIABLES.forEach(name -> environment.overrideForWorkers(name, null));
        StatusFile statusFile = options.statusFile() == null ? null : new StatusFile(options.statusFile());
        String noAutogroup = config.newWorkerNice() > 0 ? Autogroup.unavailability() : null;
        if (noAutogroup != null) {
            System.err.println("--new-worker-nice has no effect: " + noAutogroup);
        }
        if (options.readyTimeout() != null && config.readyTimeout() == 0) {
            // Accepted, as Perl's start_server accepts what it ignores; said, because it looks like it is in force.
            System.err.println("--ready-timeout has no effect without --readiness=notify: a new worker counts as"
                    + " started after --interval");
        }
        Throwable nativeProblem = Posix.unavailabilityCause();
        if (nativeProblem != null) {
            throw Fatal.of("cannot load the native C library through jnr-ffi: " + nativeProblem);
        }

        PosixOs os = new PosixOs();
        installSignalHandlers(os);
        // An upgraded image starts with these blocked (see Upgrade); what arrived meanwhile is delivered now, to
        // the handlers just installed, and reaches the loop as any signal does.
        try {
            Posix.maskSignals(false, Upgrade.HELD);
        } catch (ErrnoException e) {
            throw Fatal.of("cannot unblock signals:", e);
        }
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
                if (upgraded == null) {
                    // Not after an upgrade: the pid is the same, and a rewrite would leave the file empty for a moment,
                    // in which a --restart or --stop could not read it.
                    pidFile.write(ProcessHandle.current().pid());
                }
            }
            boolean daemonizing = options.daemonize() && handoff == null;
            LogOutput log = upgraded != null && options.logFile() != null && LogOutput.isCommand(options.logFile())
                    ? LogOutput.adopted(options.logFile(), upgraded.fds().loggerPipe(), upgraded.fds().loggerPid(),
                            environment.forWorker("", 0))
                    : openLog(options.logFile(), handoff != null, daemonizing, environment);
            Listeners listeners;
            if (upgraded != null && config.activated() != null) {
                listeners = Listeners.activated(upgraded.fds().sockets(), options.logFile() != null);
            } else if (handoff != null) {
                listeners = Listeners.adopt(config.ports(), config.paths(), handoff.sockets(),
                        options.logFile() != null, cleanup);
            } else if (config.activated() != null) {
                System.err.println("start_server (pid:" + ProcessHandle.current().pid() + ") starting now...");
                listeners = Listeners.activated(config.activated(), options.logFile() != null);
            } else {
                System.err.println("start_server (pid:" + ProcessHandle.current().pid() + ") starting now...");
                listeners = Listeners.bind(config.ports(), config.paths(), config.pathMode(), config.backlog(),
                        options.logFile() != null, cleanup);
            }
            if (daemonizing && config.metrics() != null) {
                Metrics.checkBindable(config.metrics(), options.metrics()); // the daemon binds it; errors go here
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
                lifeline = upgraded != null
                        ? new int[] {upgraded.fds().lifelineRead(), upgraded.fds().lifelineWrite()} : Posix.pipe();
            } catch (ErrnoException e) {
                throw Fatal.of("failed to create the lifeline pipe:", e);
            }
            int lifelineFd = listeners.spareWorkerFd();
            environment.overrideForWorkers(LIFELINE_VARIABLE, Integer.toString(lifelineFd));
            List<SpawnRequest.Placement> placements = new ArrayList<>(listeners.placements());
            placements.add(new SpawnRequest.Placement(lifeline[0], lifelineFd));
            Supervisor supervisor = new Supervisor(new Supervisor.Settings(config.program(), config.argv(),
                    config.dir(), config.interval(), config.signalOnHup(), config.signalOnHupNumber(),
                    config.signalOnTerm(), config.signalOnTermNumber(), listeners.serverStarterPort(), placements,
                    config.killTimeout(), config.maxBackoff(), config.readyTimeout(), config.newWorkerNice()),
                    environment, statusFile, os, System.err::println);
            if (config.readyTimeout() > 0) {
                environment.overrideForWorkers("NOTIFY_SOCKET", NotifyListener.open(os::post).address());
            }
            supervisor.useSystemd(Systemd.notifier(inherited.get("NOTIFY_SOCKET")));
            if (log != null) {
                if (log.fd() >= 0) {
                    log.redirect();
                }
                supervisor.useLog(log);
            }
            // After the log is in place, so that these lines go where the others do.
            if (config.metrics() != null) {
                try {
                    Metrics metrics = Metrics.start(config.metrics(), options.metrics(), supervisor::status);
                    supervisor.useMetricsAddress(metrics.address());
                    System.err.println("metrics on http://" + metrics.address() + "/metrics");
                } catch (Fatal e) {
                    if (upgraded == null) {
                        throw e;
                    }
                    // The workers run on: an upgraded image must not give up over its metrics port.
                    System.err.println(e.getMessage() + " (after the upgrade; --metrics is off until the next start)");
                }
            }
            int statusSocket = -1;
            int upgradeSocket = -1;
            if (pidFile != null) {
                // --status and --upgrade find us through the pid file, so without one nobody could ask.
                long pid = ProcessHandle.current().pid();
                if (upgraded != null && upgraded.fds().statusSocket() >= 0) {
                    statusSocket = upgraded.fds().statusSocket();
                    StatusSocket.serveFrom(statusSocket, supervisor::status);
                } else if (upgraded == null) {
                    statusSocket = StatusSocket.start(StatusSocket.name(pid, pidFile.inode()), supervisor::status,
                            System.err::println);
                }
                upgradeSocket = upgraded != null ? upgraded.fds().upgradeSocket()
                        : UpgradeSocket.listen(UpgradeSocket.name(pid, pidFile.inode()), System.err::println);
                if (upgradeSocket >= 0) {
                    UpgradeSocket.serveFrom(upgradeSocket, os::post);
                    PidFile locked = pidFile;
                    int status = statusSocket;
                    int upgrade = upgradeSocket;
                    // Taken when the upgrade happens: the logger may have been restarted since.
                    supervisor.useUpgrader(new Upgrade(arguments, () -> new Upgrade.Fds(listeners.fds(), locked.fd(),
                            lifeline[0], lifeline[1], log == null ? -1 : log.pipeReadFd(),
                            log == null ? -1 : log.loggerPid(), status, upgrade), () -> installSignalHandlers(os)));
                }
            }
            if (upgraded != null) {
                supervisor.restore(upgraded.handover());
                System.err.println("start_server (pid:" + ProcessHandle.current().pid() + ") upgraded: "
                        + supervisor.upgradedLine().substring(3));
                new Upgrade(arguments, upgraded::fds, () -> { }).answer(upgraded.handover().replies(),
                        supervisor.upgradedLine());
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

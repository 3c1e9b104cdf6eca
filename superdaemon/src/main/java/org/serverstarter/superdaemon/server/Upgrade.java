package org.serverstarter.superdaemon.server;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.Signals;

/**
 * {@code start_server --upgrade}, the server side: replaces this image of start_server with a fresh start of its
 * launcher, in the same process. What must outlive the image is kept open across {@code execve} (the listening
 * sockets at the same fd numbers, the lifeline's two ends, the locked pid file, the logger's pipe, the status and
 * upgrade sockets, the clients' connections) and every other descriptor, the JVM's own included, is made
 * close-on-exec. The rest of the state (workers and their generations, kill deadlines, counters, pending signals)
 * goes to the new image in a memfd whose number {@link #STATE_VARIABLE} names: no file in a shared directory, and
 * the variable never reaches a worker.
 *
 * <p>Nothing is let go before the new image has shown it can start: the launcher runs with the same arguments and
 * {@link #CHECK_VARIABLE}, and must resolve the whole configuration and say {@code upgrade-check ok} within
 * {@link #CHECK_TIMEOUT_SECONDS}. Once {@code execve} has succeeded there is no way back, so that check is the
 * whole safety net.
 *
 * <p>Signals: HUP, INT, TERM, USR1, ALRM and CHLD are blocked in the supervisor's thread, which is the one that
 * calls {@code execve} and so becomes the new image's only thread; a blocked signal stays pending across it. A new
 * JVM unblocks HUP, INT and TERM in every thread it makes while they are not ignored, and until start_server has
 * installed its handlers their default action would kill it; so those three are ignored too, just before the exec.
 * Since the thread that leads the new process blocks them, the kernel keeps them pending rather than dropping them
 * (an ignored signal is only discarded when it is not blocked), and the new image's {@link Startup} delivers them
 * to its handlers once they are installed. Those the old image caught before are handed over in the state.
 */
final class Upgrade implements Supervisor.Upgrader {
    static final String STATE_VARIABLE = "SERVER_STARTER_JVM_UPGRADE_STATE";
    static final String CHECK_VARIABLE = "SERVER_STARTER_JVM_UPGRADE_CHECK";
    /** Set by bin/start_server: the launcher to run again. */
    static final String LAUNCHER_PROPERTY = "serverstarter.launcher";
    static final String CHECK_OK = "upgrade-check ok";
    static final long CHECK_TIMEOUT_SECONDS = 30;
    /** The signals held from the moment the state is taken until the new image's handlers are installed. */
    static final int[] HELD = {Signals.HUP, 2, Signals.TERM, 10, 14, 17};
    private static final int[] FATAL_TO_A_STARTING_JVM = {Signals.HUP, 2, Signals.TERM};
    private static final String FORMAT = "server-starter-upgrade 1";
    private static final int MAX_STATE_BYTES = 1 << 20;

    /**
     * The descriptors the new image takes over, -1 where there is none.
     *
     * @param loggerPipe the read end of a {@code | command} log's pipe, whose write end is our stdout and stderr
     */
    record Fds(List<Integer> sockets, int pidFile, int lifelineRead, int lifelineWrite, int loggerPipe,
               long loggerPid, int statusSocket, int upgradeSocket) {
        Fds {
            sockets = List.copyOf(sockets);
        }
    }

    /** Everything the new image needs besides the command line, which it gets again as its arguments. */
    record State(Supervisor.Handover handover, Fds fds) {
    }

    private final List<String> arguments;
    private final Supplier<Fds> fds;
    private final Runnable reinstallHandlers;
    private final String launcher;

    /**
     * @param arguments         start_server's own command line, given again to the new image
     * @param reinstallHandlers puts the signal handlers back when the exec fails
     */
    Upgrade(List<String> arguments, Supplier<Fds> fds, Runnable reinstallHandlers) {
        this.arguments = List.copyOf(arguments);
        this.fds = fds;
        this.reinstallHandlers = reinstallHandlers;
        this.launcher = System.getProperty(LAUNCHER_PROPERTY);
    }

    @Override
    public String upgrade(Supervisor.Handing handing) {
        if (launcher == null || launcher.isEmpty()) {
            return "start_server was not started through its launcher (bin/start_server), so there is none to start"
                    + " again";
        }
        String problem = check();
        if (problem != null) {
            return problem;
        }
        try {
            Posix.maskSignals(true, HELD);
        } catch (ErrnoException e) {
            return "cannot hold signals during the upgrade: " + e.getMessage();
        }
        try {
            // While the handlers still run, a signal caught just now reaches the supervisor's queue within a few
            // milliseconds (the JVM dispatches from a thread of its own); taken in the state from there.
            handing.settle(20);
            for (int signal : FATAL_TO_A_STARTING_JVM) {
                Posix.ignoreSignal(signal);
            }
            Supervisor.Handover handover = handing.handover();
            if (handover == null) {
                return "start_server is stopping";
            }
            return exec(new State(handover, fds.get()));
        } finally {
            reinstallHandlers.run();
            try {
                Posix.maskSignals(false, HELD);
            } catch (ErrnoException e) {
                System.err.println("cannot unblock signals after a failed upgrade: " + e.getMessage());
            }
        }
    }

    @Override
    public void answer(List<Integer> connections, String line) {
        for (int connection : connections) {
            try {
                Posix.writeFully(connection, (line + "\n").getBytes(StandardCharsets.UTF_8));
            } catch (ErrnoException e) {
                // That client has gone (or does not read within the socket's send timeout): nobody to tell.
            }
            Posix.close(connection);
        }
    }

    /**
     * Runs the launcher as the new image would run, with {@link #CHECK_VARIABLE}: it must start its JVM, load the
     * jar and accept this very command line. Returns why not, or null.
     */
    private String check() {
        List<String> command = new ArrayList<>();
        command.add(launcher);
        command.addAll(arguments);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(new File("/dev/null"));
        Map<String, String> environment = builder.environment();
        environment.remove(STATE_VARIABLE);
        environment.remove(Daemon.FDS_VARIABLE);
        environment.put(CHECK_VARIABLE, "1");
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            return "cannot run " + launcher + ": " + e.getMessage();
        }
        try {
            if (!process.waitFor(CHECK_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return launcher + " did not answer the upgrade check within " + CHECK_TIMEOUT_SECONDS + " secs";
            }
            String output = new String(process.getInputStream().readNBytes(8192), StandardCharsets.UTF_8).strip();
            String last = output.isEmpty() ? "(no output)" : output.lines().reduce((a, b) -> b).orElse("");
            if (process.exitValue() != 0) {
                return launcher + " cannot start (exit status " + process.exitValue() + "): " + last;
            }
            if (!output.startsWith(CHECK_OK)) {
                return launcher + " does not know --upgrade (an older start_server?): " + last;
            }
            return null;
        } catch (IOException e) {
            return "cannot read the upgrade check's output: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            return "interrupted";
        }
    }

    /** Writes the state, keeps what the new image takes over, and execs the launcher; returns only on failure. */
    private String exec(State state) {
        int memfd;
        try {
            memfd = Posix.memoryFile("server-starter-upgrade");
        } catch (ErrnoException e) {
            return "cannot create the state to hand over (memfd_create): " + e.getMessage();
        }
        Set<Integer> keep = new HashSet<>(List.of(0, 1, 2, memfd));
        keep.addAll(state.fds().sockets());
        for (int fd : new int[] {state.fds().pidFile(), state.fds().lifelineRead(), state.fds().lifelineWrite(),
                state.fds().loggerPipe(), state.fds().statusSocket(), state.fds().upgradeSocket()}) {
            if (fd >= 0) {
                keep.add(fd);
            }
        }
        keep.addAll(state.handover().replies());
        try {
            Posix.writeFully(memfd, encode(state).getBytes(StandardCharsets.UTF_8));
            for (int fd : Posix.openFds()) {
                try {
                    Posix.setCloseOnExec(fd, !keep.contains(fd));
                } catch (ErrnoException e) {
                    if (e.errno() != 9) { // EBADF: the listing's own descriptor, closed since
                        throw e;
                    }
                }
            }
        } catch (ErrnoException e) {
            restoreCloseOnExec(keep, memfd);
            return "cannot prepare the descriptors to hand over: " + e.getMessage();
        }
        List<String> argv = new ArrayList<>();
        argv.add(launcher);
        argv.addAll(arguments);
        List<String> environment = new ArrayList<>();
        System.getenv().forEach((name, value) -> {
            if (!name.equals(STATE_VARIABLE) && !name.equals(Daemon.FDS_VARIABLE) && !name.equals(CHECK_VARIABLE)) {
                environment.add(name + "=" + value);
            }
        });
        environment.add(STATE_VARIABLE + "=" + memfd);
        System.out.flush();
        System.err.flush();
        ErrnoException failed = Posix.execve(launcher, argv, environment);
        restoreCloseOnExec(keep, memfd);
        return "cannot execute " + launcher + ": " + failed.getMessage();
    }

    /** After a failed exec: what we keep is close-on-exec again (workers get only what their spawn places). */
    private static void restoreCloseOnExec(Set<Integer> keep, int memfd) {
        for (int fd : keep) {
            if (fd > 2) {
                try {
                    Posix.setCloseOnExec(fd, true);
                } catch (ErrnoException e) {
                    // Not open: nothing would leak through it.
                }
            }
        }
        Posix.close(memfd);
    }

    // ---- the state, as lines of words; names are keys, never paths or anything a user wrote ----------------------

    static String encode(State state) {
        Supervisor.Handover h = state.handover();
        Fds f = state.fds();
        StringBuilder text = new StringBuilder(FORMAT).append('\n');
        line(text, "started-at", h.startedAtMillis());
        line(text, "asked-at", h.askedAtMillis());
        line(text, "generation", h.generation());
        line(text, "last-restart-seconds", h.lastRestartSeconds());
        line(text, "current", h.currentPid(), h.currentGeneration());
        h.oldWorkers().forEach((pid, gen) -> line(text, "old", pid, gen));
        h.spawnedAt().forEach((pid, at) -> line(text, "spawned-at", pid, at));
        h.signalledAt().forEach((pid, at) -> line(text, "signalled-at", pid, at));
        h.killInMillis().forEach((pid, ms) -> line(text, "kill-in", pid, ms));
        h.lingeringGroups().forEach(group -> line(text, "lingering", group));
        text.append("counters ").append(h.counters().encode()).append('\n');
        Status.LastRestart r = h.lastRestart();
        if (r != null) {
            text.append("last-restart ").append(r.trigger()).append(' ').append(r.outcome());
            for (long n : new long[] {r.askedAtMillis(), r.finishedAtMillis(), r.readyMillis(), r.generation(),
                    r.failedAttempts()}) {
                text.append(' ').append(n);
            }
            text.append('\n');
        }
        h.signals().forEach(signal -> text.append("signal ").append(signal).append('\n'));
        h.replies().forEach(fd -> line(text, "reply", fd));
        f.sockets().forEach(fd -> line(text, "socket", fd));
        line(text, "pid-file", f.pidFile());
        line(text, "lifeline", f.lifelineRead(), f.lifelineWrite());
        line(text, "logger", f.loggerPipe(), f.loggerPid());
        line(text, "status-socket", f.statusSocket());
        line(text, "upgrade-socket", f.upgradeSocket());
        text.append("end\n");
        return text.toString();
    }

    private static void line(StringBuilder text, String key, long... values) {
        text.append(key);
        for (long value : values) {
            text.append(' ').append(value);
        }
        text.append('\n');
    }

    /**
     * The state the previous image left at the fd {@link #STATE_VARIABLE} names, or null when there is none. The
     * descriptor must be a memfd of the name we give it: a number that names anything else (an inherited socket,
     * a file) is refused, not read.
     */
    static State inherited(String value) {
        if (value == null) {
            return null;
        }
        if (!value.matches("\\d{1,7}")) {
            throw Fatal.of("invalid " + STATE_VARIABLE + " value:" + value);
        }
        int fd = Integer.parseInt(value);
        String target;
        try {
            target = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            throw Fatal.of(STATE_VARIABLE + "=" + fd + " names no open descriptor");
        }
        if (!target.startsWith("/memfd:server-starter-upgrade")) {
            throw Fatal.of(STATE_VARIABLE + "=" + fd + " is not the state of an upgrade (" + target + ")");
        }
        byte[] buffer = new byte[MAX_STATE_BYTES];
        long n = Posix.readAt(fd, buffer, 0);
        Posix.close(fd);
        if (n <= 0 || n == MAX_STATE_BYTES) {
            throw Fatal.of("cannot read the state of the upgrade (" + n + " bytes)");
        }
        return decode(new String(buffer, 0, (int) n, StandardCharsets.UTF_8));
    }

    static State decode(String text) {
        List<String> lines = text.lines().toList();
        if (lines.isEmpty() || !lines.get(0).equals(FORMAT) || !lines.get(lines.size() - 1).equals("end")) {
            throw Fatal.of("the state of the upgrade is not in the format this start_server reads ("
                    + (lines.isEmpty() ? "empty" : lines.get(0)) + ")");
        }
        Map<String, long[]> single = new LinkedHashMap<>();
        Map<Long, Long> old = new LinkedHashMap<>();
        Map<Long, Long> spawned = new LinkedHashMap<>();
        Map<Long, Long> signalled = new LinkedHashMap<>();
        Map<Long, Long> kill = new LinkedHashMap<>();
        List<Long> lingering = new ArrayList<>();
        List<String> signals = new ArrayList<>();
        List<Integer> replies = new ArrayList<>();
        List<Integer> sockets = new ArrayList<>();
        Status.Counters counters = Status.Counters.ZERO;
        Status.LastRestart lastRestart = null;
        try {
            for (String line : lines.subList(1, lines.size() - 1)) {
                String[] w = line.split(" ");
                switch (w[0]) {
                    case "counters" -> counters = Status.Counters.decode(line.substring("counters ".length()));
                    case "last-restart" -> lastRestart = new Status.LastRestart(w[1], w[2], Long.parseLong(w[3]),
                            Long.parseLong(w[4]), Long.parseLong(w[5]), Long.parseLong(w[6]), Long.parseLong(w[7]));
                    case "signal" -> signals.add(w[1]);
                    case "old" -> old.put(Long.parseLong(w[1]), Long.parseLong(w[2]));
                    case "spawned-at" -> spawned.put(Long.parseLong(w[1]), Long.parseLong(w[2]));
                    case "signalled-at" -> signalled.put(Long.parseLong(w[1]), Long.parseLong(w[2]));
                    case "kill-in" -> kill.put(Long.parseLong(w[1]), Long.parseLong(w[2]));
                    case "lingering" -> lingering.add(Long.parseLong(w[1]));
                    case "reply" -> replies.add(Integer.parseInt(w[1]));
                    case "socket" -> sockets.add(Integer.parseInt(w[1]));
                    default -> {
                        long[] values = new long[w.length - 1];
                        for (int i = 1; i < w.length; i++) {
                            values[i - 1] = Long.parseLong(w[i]);
                        }
                        single.put(w[0], values);
                    }
                }
            }
            Supervisor.Handover handover = new Supervisor.Handover(get(single, "started-at")[0],
                    get(single, "asked-at")[0], get(single, "generation")[0],
                    get(single, "last-restart-seconds")[0], get(single, "current")[0], get(single, "current")[1],
                    old, spawned, signalled, kill, lingering, counters, lastRestart, signals, replies);
            Fds fds = new Fds(sockets, (int) get(single, "pid-file")[0], (int) get(single, "lifeline")[0],
                    (int) get(single, "lifeline")[1], (int) get(single, "logger")[0], get(single, "logger")[1],
                    (int) get(single, "status-socket")[0], (int) get(single, "upgrade-socket")[0]);
            return new State(handover, fds);
        } catch (RuntimeException e) {
            if (e instanceof Fatal fatal) {
                throw fatal;
            }
            throw Fatal.of("the state of the upgrade is damaged: " + e);
        }
    }

    private static long[] get(Map<String, long[]> single, String key) {
        long[] values = single.get(key);
        if (values == null) {
            throw Fatal.of("the state of the upgrade lacks " + key);
        }
        return values;
    }
}

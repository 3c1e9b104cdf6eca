package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The nice value of a worker's autogroup, for {@code --new-worker-nice}. Linux puts each session in a scheduling
 * group of its own (an autogroup) and shares the CPU fairly between groups, then between the threads of a group.
 *
 * <p>Why: a new generation that starts beside the serving one takes the CPU it needs from it, thread for thread; a
 * JVM spends about a second of CPU on class loading and compiling, and on a small machine the serving generation's
 * latency suffers for that whole second. With its own session and its group at a high nice value, the new
 * generation gets the CPU the serving one leaves idle. Unlike a thread's nice value, which an unprivileged process
 * can only raise, a group's nice value can be set back to 0 once the worker has started.
 *
 * <p>It has an effect only where the kernel schedules by autogroup: built with it, {@code kernel.sched_autogroup_enabled}
 * = 1, and the processes not in a cgroup with the cpu controller enabled (a cgroup's task group takes precedence).
 */
final class Autogroup {
    private static final Path ENABLED = Path.of("/proc/sys/kernel/sched_autogroup_enabled");
    private static final Path CGROUP2_CONTROLLERS = Path.of("/sys/fs/cgroup/cgroup.subtree_control");
    /** The kernel refuses an unprivileged write within 100 ms of the last one on the machine (EAGAIN). */
    private static final long RETRY_MILLIS = 1000;

    private Autogroup() {
    }

    /** Why the kernel does not schedule this process's children by autogroup, or null when it does. */
    static String unavailability() {
        try {
            if (!Files.readString(ENABLED).trim().equals("1")) {
                return "the kernel's autogroup scheduling is off (" + ENABLED + " is not 1)";
            }
        } catch (IOException e) {
            return "this kernel has no autogroup scheduling (no " + ENABLED + ")";
        }
        String cgroup;
        try {
            cgroup = cpuControlledCgroup(Files.readAllLines(Path.of("/proc/self/cgroup")),
                    Files.exists(CGROUP2_CONTROLLERS) ? Files.readString(CGROUP2_CONTROLLERS) : "");
        } catch (IOException e) {
            return null; // no cgroups to read: nothing takes precedence over autogroups
        }
        return cgroup == null ? null : "this process is in the cgroup " + cgroup
                + ", whose cpu controller takes precedence over autogroups";
    }

    /**
     * The cgroup below the root that the cpu controller schedules this process in, or null: only processes in the
     * root cgroup are scheduled by autogroup.
     *
     * @param lines            /proc/self/cgroup
     * @param rootSubtreeControl the controllers the cgroup v2 root enables for its children
     */
    static String cpuControlledCgroup(List<String> lines, String rootSubtreeControl) {
        String unified = null;
        for (String line : lines) {
            String[] fields = line.split(":", 3);
            if (fields.length < 3) {
                continue;
            }
            if (List.of(fields[1].split(",")).contains("cpu")) {
                return fields[2].equals("/") ? null : fields[2]; // cgroup v1 with its own cpu hierarchy
            }
            if (fields[0].equals("0") && fields[1].isEmpty()) {
                unified = fields[2];
            }
        }
        boolean cpuEnabled = List.of(rootSubtreeControl.trim().split("\\s+")).contains("cpu");
        return unified == null || unified.equals("/") || !cpuEnabled ? null : unified;
    }

    /**
     * Sets the nice value of the autogroup of {@code pid}, which must lead a session of its own: otherwise the group
     * is shared with the superdaemon and every other worker.
     *
     * @throws NoSuchFileException when the process has already gone
     */
    static void setNice(long pid, int nice) throws IOException {
        Path file = Path.of("/proc", Long.toString(pid), "autogroup");
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS);
        while (true) {
            try {
                Files.write(file, Integer.toString(nice).getBytes(StandardCharsets.US_ASCII),
                        StandardOpenOption.WRITE);
                return;
            } catch (NoSuchFileException e) {
                throw e;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                sleep(20);
            }
        }
    }

    private static void sleep(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}

package org.serverstarter.superdaemon.server;

import java.util.HashMap;
import java.util.Map;
import java.util.function.LongPredicate;

import org.serverstarter.superdaemon.posix.ErrnoException;

/**
 * Reaping start_server's children. Only pids it spawned are waited for, so the JDK's own reaper is never robbed,
 * except as PID 1 (in a container), where every orphan of the namespace becomes our child and must be reaped, or
 * zombies pile up: the exits of our own children found that way are kept for {@link #reap}.
 */
final class Children {
    private static final int ECHILD = 10;

    private final Os os;
    private final Map<Long, Integer> collectedByInit = new HashMap<>();

    Children(Os os) {
        this.os = os;
    }

    /** The raw wait status of our child {@code pid} if it has exited, else -1. */
    int reap(long pid) {
        Integer collected = collectedByInit.remove(pid);
        if (collected != null) {
            return collected;
        }
        try {
            return os.reap(pid);
        } catch (ErrnoException e) {
            if (e.errno() == ECHILD) {
                return 0; // reaped already, by someone: it has exited, and waiting for it would be for ever
            }
            throw new IllegalStateException("waitpid(" + pid + "): " + e.getMessage(), e);
        }
    }

    /** As PID 1: reaps every exited orphan, keeping the exits of the pids {@code ours} names. */
    void collectOrphans(LongPredicate ours) {
        if (!os.isInit()) {
            return;
        }
        for (long[] exited; (exited = os.reapAnyChild()) != null; ) {
            if (ours.test(exited[0])) {
                collectedByInit.put(exited[0], (int) exited[1]);
            }
        }
    }
}

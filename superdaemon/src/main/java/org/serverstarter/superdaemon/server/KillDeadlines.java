package org.serverstarter.superdaemon.server;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --kill-timeout}: the process groups that were signalled, each with the time after which it gets KILL. The
 * first deadline stands: signalling a group again (a later HUP) does not push it back.
 */
final class KillDeadlines {
    private final Map<Long, Long> deadlines = new LinkedHashMap<>();

    /** From now on {@code group} gets KILL at {@code atNanos}, unless it already has an earlier deadline. */
    void arm(long group, long atNanos) {
        deadlines.putIfAbsent(group, atNanos);
    }

    void cancel(long group) {
        deadlines.remove(group);
    }

    void clear() {
        deadlines.clear();
    }

    /** The groups whose deadline has passed at {@code nowNanos}, forgotten as they are returned. */
    List<Long> takeDue(long nowNanos) {
        List<Long> due = new ArrayList<>();
        for (var it = deadlines.entrySet().iterator(); it.hasNext(); ) {
            var entry = it.next();
            if (nowNanos - entry.getValue() >= 0) {
                due.add(entry.getKey());
                it.remove();
            }
        }
        return due;
    }

    /** Every deadline, for handing them to a new image of start_server ({@code --upgrade}). */
    Map<Long, Long> all() {
        return Map.copyOf(deadlines);
    }

    /** The earlier of {@code limitNanos} and every deadline. */
    long earliest(long limitNanos) {
        long earliest = limitNanos;
        for (long at : deadlines.values()) {
            if (at - earliest < 0) {
                earliest = at;
            }
        }
        return earliest;
    }
}

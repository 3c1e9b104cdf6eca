package org.serverstarter.superdaemon.server;

import java.util.List;

/** What wakes the supervisor: a signal to start_server, a child's exit, or a READY=1 on the notify socket. */
sealed interface Event {
    /** A signal start_server received, by name ("HUP", "TERM", ...). */
    record Signal(String name) implements Event {
    }

    /** SIGCHLD: some child has exited; which one is found by reaping. */
    record ChildExited() implements Event {
    }

    /**
     * {@code READY=1} from {@code lineage.get(0)}, as the kernel named the sender, followed by its ancestors as they
     * were when the datagram arrived.
     */
    record Ready(List<Long> lineage) implements Event {
        public Ready {
            lineage = List.copyOf(lineage);
        }

        /** Whether it came from {@code worker} or a process it started. */
        boolean isFrom(long worker) {
            return lineage.contains(worker);
        }
    }

    /** {@code start_server --upgrade}: a client's connection, answered with the outcome (see {@link Upgrade}). */
    record Upgrade(int connection) implements Event {
    }

    Event CHILD_EXITED = new ChildExited();
}

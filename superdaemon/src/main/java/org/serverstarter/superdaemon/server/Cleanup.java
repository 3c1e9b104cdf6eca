package org.serverstarter.superdaemon.server;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Clean-up actions registered right after each resource exists, run in reverse order on every way out, so that a
 * failure at any step removes exactly what had been created (Perl's Server::Starter::Guard, as a stack).
 */
final class Cleanup implements AutoCloseable {
    private final Deque<Runnable> actions = new ArrayDeque<>();

    void add(Runnable action) {
        actions.push(action);
    }

    /**
     * Adds an action that runs after all others, whenever it was added: the pid file's lock is let go last, because
     * {@code --stop} takes its release to mean that start_server has finished, sockets and files included.
     */
    void addLast(Runnable action) {
        actions.addLast(action);
    }

    /** Forgets every action: the process handing its resources to a daemon must not remove them. */
    void dismissAll() {
        actions.clear();
    }

    @Override
    public void close() {
        while (!actions.isEmpty()) {
            try {
                actions.pop().run();
            } catch (RuntimeException e) {
                System.err.println(e.getMessage());
            }
        }
    }
}

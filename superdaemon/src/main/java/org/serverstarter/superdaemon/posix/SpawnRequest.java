package org.serverstarter.superdaemon.posix;

import java.util.List;

/**
 * What {@link Posix#spawn} starts: an absolute program path (the caller has done the PATH lookup, because
 * {@code posix_spawnp} would search the superdaemon's PATH, not the worker's), its argv and complete environment,
 * an optional working directory, and the fds to place.
 *
 * @param newSession start the child in a session of its own (used for {@code --daemonize})
 */
public record SpawnRequest(String path, List<String> argv, List<String> environment, String directory,
                           List<Placement> placements, boolean newSession) {

    /** The superdaemon's fd {@code source} appears as {@code target} in the child. */
    public record Placement(int source, int target) {
    }
}

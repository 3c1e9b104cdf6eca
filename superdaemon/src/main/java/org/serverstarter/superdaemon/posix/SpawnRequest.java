package org.serverstarter.superdaemon.posix;

import java.util.List;

/**
 * What {@link Posix#spawn} starts: an absolute program path (the caller has done the PATH lookup, because
 * {@code posix_spawnp} would search the superdaemon's PATH, not the worker's), its argv and complete environment,
 * an optional working directory, and the fds to place.
 *
 * @param grouping whether the child stays in the caller's process group, leads a group of its own, or a session
 */
public record SpawnRequest(String path, List<String> argv, List<String> environment, String directory,
                           List<Placement> placements, Grouping grouping) {

    /** Where the child stands among process groups and sessions. */
    public enum Grouping {
        /** The caller's process group and session. */
        INHERIT,
        /** A process group of its own (its pid), so that a signal to the group reaches everything it starts. */
        OWN_GROUP,
        /** A session, and so a process group, of its own. */
        OWN_SESSION
    }

    /** The superdaemon's fd {@code source} appears as {@code target} in the child. */
    public record Placement(int source, int target) {
    }
}

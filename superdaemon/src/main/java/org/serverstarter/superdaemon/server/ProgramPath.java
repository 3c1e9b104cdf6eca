package org.serverstarter.superdaemon.server;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the program the way {@code execvp} would in the worker: a name with a slash is used as it is, anything else
 * is looked up in the worker's PATH. Relative paths count from {@code --dir}, where the worker starts.
 * {@code posix_spawnp} cannot be used: it searches the superdaemon's PATH, not the one the envdir may set.
 */
final class ProgramPath {
    private static final String DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

    private ProgramPath() {
    }

    /** The path to execute, or a fatal error worded as Perl's failed exec. */
    static String resolve(String program, String pathVariable, String directory) {
        Path base = Path.of(directory == null ? "" : directory).toAbsolutePath();
        if (program.contains("/")) {
            check(program, base.resolve(program));
            return program;
        }
        String searchPath = pathVariable == null ? DEFAULT_PATH : pathVariable;
        boolean deniedSomewhere = false;
        for (String entry : searchPath.split(":", -1)) {
            String candidate = (entry.isEmpty() ? "." : entry) + "/" + program;
            Path file = base.resolve(candidate);
            if (Files.isRegularFile(file)) {
                if (Files.isExecutable(file)) {
                    return candidate;
                }
                deniedSomewhere = true;
            }
        }
        throw deniedSomewhere ? denied(program) : missing(program);
    }

    private static void check(String program, Path file) {
        if (!Files.exists(file)) {
            throw missing(program);
        }
        if (!Files.isRegularFile(file) || !Files.isExecutable(file)) {
            throw denied(program);
        }
    }

    private static Fatal missing(String program) {
        return new Fatal("failed to exec " + program + ":No such file or directory", 2);
    }

    private static Fatal denied(String program) {
        return new Fatal("failed to exec " + program + ":Permission denied", 13);
    }
}

package org.serverstarter.superdaemon.client;

import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.Posix;
import org.serverstarter.superdaemon.posix.Signals;
import org.serverstarter.superdaemon.server.Fatal;

/**
 * {@code start_server --restart}: sends HUP to the superdaemon named in the pid file and waits until the status file
 * lists one generation, newer than every generation it listed before. Perl waits for exactly "highest + 1" and so
 * hangs for ever when that generation failed to start and a later one succeeded; any newer one counts here.
 * With {@code --timeout=SECONDS} it gives up after that long (exit 110, ETIMEDOUT); Perl waits for ever.
 */
public final class RestartClient {
    private static final Pattern GENERATION = Pattern.compile("^(\\d+):");
    private static final int MAX_BYTES = 1 << 20;

    private RestartClient() {
    }

    public static int run(Options options) {
        if (options.pidFile() == null || options.statusFile() == null) {
            throw Fatal.of("--restart option requires --pid-file and --status-file to be set as well");
        }
        int fd = ClientFiles.open(options.pidFile());
        Path status = Path.of(options.statusFile());
        TreeSet<Long> before;
        try {
            before = generations(status);
            if (before.isEmpty()) {
                throw Fatal.of("no active process found in the status file");
            }
            Posix.kill(ClientFiles.runningPid(options.pidFile(), fd, "HUP"), Signals.HUP);
        } catch (ErrnoException e) {
            throw Fatal.of("failed to send SIGHUP to the server process:", e);
        } finally {
            Posix.close(fd);
        }
        long target = before.last() + 1;
        long deadline = ClientFiles.deadline(options.timeout());
        while (true) {
            TreeSet<Long> now = generations(status);
            if (now.size() == 1 && now.first() >= target) {
                return 0;
            }
            if (System.nanoTime() - deadline > 0) {
                throw ClientFiles.timedOut(options.timeout(), "the restart (status file lists generations "
                        + now + ", waiting for one newer than " + before.last() + ")");
            }
            ClientFiles.pause();
        }
    }

    private static TreeSet<Long> generations(Path status) {
        TreeSet<Long> generations = new TreeSet<>();
        // A status file lists a few workers; a huge one is not ours and is read no further than this.
        int fd = ClientFiles.open(status.toString());
        List<String> lines;
        try {
            lines = ClientFiles.read(fd, MAX_BYTES, status.toString()).lines().toList();
        } finally {
            Posix.close(fd);
        }
        for (String line : lines) {
            Matcher m = GENERATION.matcher(line);
            if (m.find()) {
                if (m.group(1).length() > 18) {
                    throw Fatal.of("invalid generation in " + status + ":" + line);
                }
                generations.add(Long.parseLong(m.group(1)));
            }
        }
        return generations;
    }
}

package org.serverstarter.superdaemon;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.InvalidPathException;
import java.util.List;

import org.serverstarter.superdaemon.cli.CommandLine;
import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.cli.UsageException;
import org.serverstarter.superdaemon.client.RestartClient;
import org.serverstarter.superdaemon.client.StatusClient;
import org.serverstarter.superdaemon.client.StopClient;
import org.serverstarter.superdaemon.client.UpgradeClient;
import org.serverstarter.superdaemon.server.Config;
import org.serverstarter.superdaemon.server.Fatal;
import org.serverstarter.superdaemon.server.Startup;

/**
 * {@code start_server}: parses the command line and picks the mode in Perl's order (help, version, restart, stop,
 * then ours, status and upgrade, then the superdaemon). Every error ends here as one line on stderr and Perl's exit status.
 */
public final class Main {
    /** The Server::Starter version whose behaviour this one reproduces; scripts compare it. */
    static final String VERSION = "0.35";

    private Main() {
    }

    public static void main(String[] args) {
        // A thread other than the supervisor's may fail too (the notify socket's reader): one line, never a trace.
        Thread.setDefaultUncaughtExceptionHandler((thread, e) ->
                System.err.println("start_server: unexpected error in thread " + thread.getName() + ": " + e));
        System.exit(run(args));
    }

    static int run(String[] args) {
        Options options;
        try {
            options = CommandLine.parse(args);
        } catch (UsageException e) {
            e.lines().forEach(System.err::println);
            return 1;
        }
        try {
            return runMode(options, List.of(args));
        } catch (Fatal e) {
            System.err.println(e.getMessage());
            return e.exitStatus();
        } catch (InvalidPathException e) {
            // A name the JVM cannot encode: non-ASCII under LC_ALL=C, say.
            System.err.println("invalid file name:" + e.getInput() + ": " + e.getReason()
                    + " (try a UTF-8 locale, such as LC_ALL=C.UTF-8)");
            return Fatal.NO_ERRNO;
        } catch (RuntimeException | Error e) {
            System.err.println("start_server: unexpected error: " + e);
            return Fatal.NO_ERRNO;
        }
    }

    private static int runMode(Options options, List<String> args) {
        if (options.help()) {
            printHelp(System.out);
            return 0;
        }
        if (options.version()) {
            System.out.println(VERSION);
            return 0;
        }
        Config.checkCommon(options);
        if (options.restart()) {
            return RestartClient.run(options);
        }
        if (options.stop()) {
            return StopClient.run(options);
        }
        if (options.status()) {
            return StatusClient.run(options);
        }
        if (options.upgrade()) {
            return UpgradeClient.run(options);
        }
        if (Startup.isUpgradeCheck()) {
            return Startup.checkUpgrade(options);
        }
        return Startup.run(options, args);
    }

    private static void printHelp(PrintStream out) {
        try (InputStream help = Main.class.getResourceAsStream("help.txt")) {
            out.write(help.readAllBytes());
            out.flush();
        } catch (IOException e) {
            throw new IllegalStateException("help text missing from the jar", e);
        }
    }
}

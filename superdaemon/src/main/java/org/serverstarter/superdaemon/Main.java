package org.serverstarter.superdaemon;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;

import org.serverstarter.superdaemon.cli.CommandLine;
import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.cli.UsageException;
import org.serverstarter.superdaemon.client.RestartClient;
import org.serverstarter.superdaemon.client.StopClient;
import org.serverstarter.superdaemon.server.Fatal;
import org.serverstarter.superdaemon.server.Startup;

/**
 * {@code start_server}: parses the command line and picks the mode in Perl's order (help, version, restart, stop,
 * then the superdaemon). Every error ends here as one line on stderr and Perl's exit status.
 */
public final class Main {
    /** The Server::Starter version whose behaviour this one reproduces; scripts compare it. */
    static final String VERSION = "0.35";

    private Main() {
    }

    public static void main(String[] args) {
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
            if (options.help()) {
                printHelp(System.out);
                return 0;
            }
            if (options.version()) {
                System.out.println(VERSION);
                return 0;
            }
            if (options.restart()) {
                return RestartClient.run(options);
            }
            if (options.stop()) {
                return StopClient.run(options);
            }
            if (options.daemonize() && options.logFile() == null) {
                throw Fatal.of("Usage: --log-file option must be specified together with --daemonize");
            }
            if (options.program().isEmpty()) {
                throw Fatal.of("server program not specified");
            }
            return Startup.run(options);
        } catch (Fatal e) {
            System.err.println(e.getMessage());
            return e.exitStatus();
        }
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

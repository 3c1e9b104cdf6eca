package org.serverstarter.samples;

/** The {@code main} of every sample: its settings from the environment, then its server, or exit status 1. */
public final class Startup {
    private Startup() {}

    /** A sample's server: starts it with {@code settings} and returns while it serves. */
    public interface App {
        void serve(Settings settings) throws Exception;
    }

    /**
     * Reads {@link Settings} from the environment and serves {@code app}. If either fails, prints why and exits with
     * status 1: framework threads already started would keep a half-started JVM alive, and the superdaemon must see
     * the generation fail.
     */
    public static void run(String name, App app) {
        try {
            app.serve(Settings.fromEnvironment());
        } catch (IllegalArgumentException e) {
            // A bad variable: its message says which and what to do.
            System.err.println(name + ": cannot start: " + e.getMessage());
            System.exit(1);
        } catch (Exception e) {
            // One line, as for a bad variable: a stack trace per failed generation, which the superdaemon starts
            // again every second, buries the line that says what is wrong.
            System.err.println(name + ": cannot start: " + causes(e));
            System.exit(1);
        }
    }

    /** The exception and its causes, each as its class and message, on one line. */
    static String causes(Throwable e) {
        StringBuilder line = new StringBuilder(e.toString());
        Throwable cause = e.getCause();
        for (int depth = 0; cause != null && depth < 8; depth++, cause = cause.getCause()) {
            line.append(" (caused by ").append(cause).append(')');
        }
        return line.toString();
    }
}

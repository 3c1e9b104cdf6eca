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
            System.err.print(name + ": cannot start: ");
            e.printStackTrace();
            System.exit(1);
        }
    }
}

package org.serverstarter.tomcat;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.core.StandardContext;
import org.apache.catalina.startup.Tomcat;
import org.serverstarter.testkit.ContractApp;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.StarterException;

/**
 * A Tomcat app as a user would write it, speaking {@link ContractApp}'s protocol for the adapter contract, and prints
 * {@code tomcat ready gen=G pid=P} once it serves. With {@code FAIL_START} set Tomcat fails to start, as one with a
 * broken configuration would.
 */
public final class TomcatWorker {
    private TomcatWorker() {}

    public static void main(String[] args) throws Exception {
        Path base = Files.createTempDirectory("tomcat-worker-");
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(base.toString());
        StandardContext context = (StandardContext) tomcat.addContext("", null);
        // Tomcat's leak checks need more --add-opens flags than an app that stops by exiting cares for.
        context.setClearReferencesThreadLocals(false);
        context.setClearReferencesRmiTargets(false);
        Tomcat.addServlet(context, "app", new App());
        context.addServletMappingDecoded("/*", "app");
        tomcat.getServer().addLifecycleListener(event -> {
            if (event.getType().equals(Lifecycle.BEFORE_START_EVENT) && System.getenv("FAIL_START") != null) {
                throw new IllegalStateException("the app cannot start (FAIL_START is set)");
            }
            if (event.getType().equals(Lifecycle.AFTER_STOP_EVENT)) {
                deleteTree(base);
            }
        });

        TomcatServerStarter starter;
        try {
            starter = TomcatServerStarter.fromEnvironment();
            if (starter.isPresent()) {
                starter.listen(tomcat);
                starter.drainOnShutdown(ContractApp.drainTimeout());
            } else {
                tomcat.setPort(ContractApp.ownPort());
                tomcat.getConnector().setProperty("address", "127.0.0.1");
                // Stopped on TERM like the adapter's drain hook does, so that its base directory goes too.
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        tomcat.stop();
                    } catch (LifecycleException e) {
                        System.err.println("worker: " + e.getMessage());
                    }
                }));
            }
        } catch (StarterException e) {
            System.err.println("worker: " + e.getMessage());
            deleteTree(base);
            System.exit(3);
            return;
        }
        if (ContractApp.defersReady()) {
            Readiness.deferReady();
        }
        try {
            tomcat.start();
        } catch (LifecycleException e) {
            System.err.println("worker: " + e.getMessage());
            deleteTree(base);
            System.exit(4);
        }
        if (ContractApp.defersReady()) {
            ContractApp.awaitReadyFile();
            Readiness.notifyReady();
        } else if (!starter.isPresent()) {
            // On its own port the app reports readiness itself (systemd's Type=notify), as the README shows.
            Readiness.notifyReady();
        }
        System.out.println("tomcat ready " + ContractApp.identity());
    }

    private static final class App extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
            if (request.getRequestURI().equals(ContractApp.HOLD)) {
                ContractApp.holdStarted();
                if (!ContractApp.awaitShutdown()) {
                    response.sendError(HttpServletResponse.SC_SERVICE_UNAVAILABLE);
                    return;
                }
            }
            response.setContentType("text/plain");
            response.getWriter().print(ContractApp.body());
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("worker: cannot delete " + root + ": " + e);
        }
    }
}

package org.serverstarter.tomcat;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import org.apache.catalina.Context;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.core.StandardContext;
import org.apache.catalina.startup.Tomcat;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.ServerStarter;

/**
 * A Tomcat app as a user would write it: {@code /} answers with generation and pid, {@code /sleep?ms=N} answers after
 * N ms, {@code /stream} commits its answer with the first half of the body and sends the rest once the file
 * {@code STREAM_UNTIL} exists. Under start_server it serves the inherited sockets; otherwise it binds {@code PORT}
 * itself. With {@code FAIL_START} set, Tomcat fails to start, as one with a broken configuration would. With
 * {@code WARM_UP_UNTIL=FILE} it defers {@code READY=1} until that file exists, as an app warming up after its server
 * started would. It drains for at most {@code DRAIN_TIMEOUT_MS}, 10 s by default. An unusable
 * {@code SERVER_STARTER_PORT} propagates out of {@code main}, as it would in an app.
 */
public final class TomcatWorker {
    private TomcatWorker() {}

    public static void main(String[] args) throws Exception {
        long generation = ServerStarter.fromEnvironment().generation();
        String warmUpUntil = System.getenv("WARM_UP_UNTIL");
        if (warmUpUntil != null) {
            Readiness.deferReady();
        }
        Path base = Files.createTempDirectory("tomcat-worker-");
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(base.toString());
        Context context = tomcat.addContext("", null);
        // Tomcat's leak checks need more --add-opens flags than an app that stops by exiting cares for.
        ((StandardContext) context).setClearReferencesThreadLocals(false);
        ((StandardContext) context).setClearReferencesRmiTargets(false);
        Tomcat.addServlet(context, "app", new App(generation));
        context.addServletMappingDecoded("/*", "app");
        tomcat.getServer().addLifecycleListener(event -> {
            if (event.getType().equals(Lifecycle.BEFORE_START_EVENT) && System.getenv("FAIL_START") != null) {
                throw new IllegalStateException("the app cannot start (FAIL_START is set)");
            }
            if (event.getType().equals(Lifecycle.AFTER_STOP_EVENT)) {
                deleteTree(base);
            }
        });

        String drainTimeout = System.getenv("DRAIN_TIMEOUT_MS");
        TomcatServerStarter starter = TomcatServerStarter.fromEnvironment();
        if (starter.isPresent()) {
            try {
                starter.listen(tomcat);
            } catch (RuntimeException e) {
                deleteTree(base);
                throw e;
            }
            starter.drainOnShutdown(Duration.ofMillis(drainTimeout == null ? 10_000 : Long.parseLong(drainTimeout)));
        } else {
            tomcat.setPort(Integer.parseInt(System.getenv("PORT")));
            tomcat.getConnector().setProperty("address", "127.0.0.1");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    tomcat.stop();
                } catch (LifecycleException e) {
                    System.err.println("worker: " + e.getMessage());
                }
            }));
        }
        try {
            tomcat.start();
        } catch (LifecycleException e) {
            System.err.println("worker: " + e.getMessage());
            deleteTree(base);
            System.exit(4);
        }
        if (!starter.isPresent() && warmUpUntil == null) {
            // On its own port the app reports readiness itself (systemd's Type=notify), as the README shows.
            Readiness.notifyReady();
        }
        System.out.println("tomcat ready gen=" + generation + " pid=" + ProcessHandle.current().pid());
        if (warmUpUntil != null) {
            while (!Files.exists(Path.of(warmUpUntil))) {
                Thread.sleep(20);
            }
            System.out.println("warmed up gen=" + generation);
            Readiness.notifyReady();
        }
    }

    private static final class App extends HttpServlet {
        private static final long serialVersionUID = 1L;
        private final long generation;

        App(long generation) {
            this.generation = generation;
        }

        @Override
        protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
            String pid = "pid=" + ProcessHandle.current().pid() + "\n";
            response.setContentType("text/plain");
            PrintWriter out = response.getWriter();
            switch (request.getRequestURI()) {
                case "/sleep" -> {
                    System.out.println("sleep started gen=" + generation);
                    pause(Long.parseLong(request.getParameter("ms")));
                    out.print("gen=" + generation + " " + pid);
                }
                case "/stream" -> {
                    out.print("gen=" + generation + " ");
                    response.flushBuffer();
                    System.out.println("stream started gen=" + generation);
                    Path until = Path.of(System.getenv("STREAM_UNTIL"));
                    while (!Files.exists(until)) {
                        pause(20);
                    }
                    out.print(pid);
                }
                default -> out.print("gen=" + generation + " " + pid);
            }
        }

        private static void pause(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
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

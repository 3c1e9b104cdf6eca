package org.serverstarter.samples.tomcat;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.Service;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.core.StandardContext;
import org.apache.catalina.core.StandardThreadExecutor;
import org.apache.catalina.startup.Tomcat;
import org.apache.coyote.http2.Http2Protocol;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.internal.WarmUpClient;
import org.serverstarter.samples.Settings;
import org.serverstarter.samples.SleepParameter;
import org.serverstarter.samples.Startup;
import org.serverstarter.samples.Tls;
import org.serverstarter.samples.WarmUp;
import org.serverstarter.tomcat.TomcatServerStarter;

/**
 * An embedded Tomcat app that serves the sockets inherited from {@code start_server} through
 * {@link TomcatServerStarter}, or 127.0.0.1:$PORT when started on its own. See the samples README for the routes and
 * variables.
 */
public final class TomcatSampleApp {
    private static final String NAME = "tomcat-sample";
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(40);
    private static final int THREADS = 32;

    private TomcatSampleApp() {}

    public static void main(String[] args) {
        Startup.run(NAME, TomcatSampleApp::serve);
    }

    private static void serve(Settings settings) throws Exception {
        // Tomcat needs a base directory for its work files; this one lives as long as the process. Once Tomcat has
        // started, its stop deletes it; a start that fails exits before any stop, so the directory goes here.
        Path base = Files.createTempDirectory(NAME + "-");
        try {
            serve(settings, base);
        } catch (Exception | Error e) {
            deleteTree(base);
            throw e;
        }
    }

    private static void serve(Settings settings, Path base) throws Exception {
        String generation = Long.toString(settings.generation());
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(base.toString());
        StandardContext context = (StandardContext) tomcat.addContext("", null);
        // Tomcat's leak checks at stop need --add-opens flags of their own; an app that stops by exiting needs none.
        context.setClearReferencesThreadLocals(false);
        context.setClearReferencesRmiTargets(false);
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, NAME + "-timer");
            t.setDaemon(true);
            return t;
        });
        Tomcat.addServlet(context, "routes", new Routes(generation, timer)).setAsyncSupported(true);
        context.addServletMappingDecoded("/*", "routes");
        tomcat.getServer().addLifecycleListener(event -> {
            if (event.getType().equals(Lifecycle.AFTER_STOP_EVENT)) {
                deleteTree(base);
            }
        });
        // One pool for every connector, its threads all started with Tomcat (Tomcat's pool starts the minimum spare
        // threads at once): a new generation takes over every client at once, and a pool that grows then holds up its
        // first requests (as with the Jetty sample's).
        Service service = tomcat.getService();
        StandardThreadExecutor pool = new StandardThreadExecutor();
        pool.setName(NAME + "-pool");
        pool.setNamePrefix(NAME + "-exec-");
        pool.setMaxThreads(THREADS);
        pool.setMinSpareThreads(THREADS);
        service.addExecutor(pool);

        // READY=1 only after the warm-up below, not as soon as the connectors accept.
        Readiness.deferReady();
        TomcatServerStarter starter = TomcatServerStarter.fromEnvironment();
        if (!starter.isPresent()) {
            System.out.println(settings.fallbackNotice(NAME));
            tomcat.setPort(settings.fallbackPort());
            Connector own = tomcat.getConnector();
            own.setProperty("address", "127.0.0.1");
            own.getProtocolHandler().setExecutor(pool);
            settings.tls().ifPresent(tls -> https(own, tls));
            // Before start(): a TERM while Tomcat starts stops it once started, which also deletes its base directory.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(tomcat)));
            tomcat.start();
            return;
        }
        starter.listen(tomcat, connector -> {
            connector.getProtocolHandler().setExecutor(pool);
            settings.tls().ifPresent(tls -> https(connector, tls));
        });
        starter.drainOnShutdown(DRAIN_TIMEOUT);
        tomcat.start();
        System.out.println(NAME + ": generation " + settings.generation() + " pid " + ProcessHandle.current().pid()
                + " serving " + settings.starter().sockets().size() + " inherited socket(s)");
        // A connector of its own on a private port, so that the warm-up's requests do not go through the shared
        // sockets.
        WarmUp.thenAnnounce(settings, NAME, new WarmUpClient.Port() {
            private final Connector warmUp = new Connector();

            @Override
            public InetSocketAddress open() {
                warmUp.setPort(0);
                warmUp.setProperty("address", "127.0.0.1");
                warmUp.getProtocolHandler().setExecutor(pool);
                settings.tls().ifPresent(tls -> https(warmUp, tls));
                service.addConnector(warmUp);
                return new InetSocketAddress("127.0.0.1", warmUp.getLocalPort());
            }

            @Override
            public void close() throws Exception {
                service.removeConnector(warmUp);
                warmUp.destroy();
            }
        });
    }

    /**
     * Tomcat's own TLS set-up on one connector, with HTTP/2 and HTTP/1.1 over ALPN (Tomcat offers h2 through ALPN once
     * the connector has the HTTP/2 upgrade protocol). The keystore is read when the connector starts.
     */
    private static void https(Connector connector, Tls tls) {
        connector.setSecure(true);
        connector.setScheme("https");
        connector.setProperty("SSLEnabled", "true");
        SSLHostConfig host = new SSLHostConfig();
        SSLHostConfigCertificate certificate = new SSLHostConfigCertificate(host, SSLHostConfigCertificate.Type.UNDEFINED);
        certificate.setCertificateKeystoreFile(tls.keystore().toString());
        certificate.setCertificateKeystoreType("PKCS12");
        certificate.setCertificateKeystorePassword(tls.password());
        host.addCertificate(certificate);
        connector.addSslHostConfig(host);
        connector.addUpgradeProtocol(new Http2Protocol());
    }

    /** {@code GET /} and {@code GET /sleep?ms=N}; both carry {@code X-Generation}. */
    static final class Routes extends HttpServlet {
        private static final long serialVersionUID = 1L;
        private final String generation;
        private final transient ScheduledExecutorService timer;

        Routes(String generation, ScheduledExecutorService timer) {
            this.generation = generation;
            this.timer = timer;
        }

        @Override
        protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
            response.setHeader("X-Generation", generation);
            response.setContentType("text/plain; charset=utf-8");
            String path = request.getRequestURI();
            if (!request.getMethod().equals("GET")) {
                respond(response, HttpServletResponse.SC_METHOD_NOT_ALLOWED, "only GET\n");
            } else if (path.equals("/")) {
                respond(response, HttpServletResponse.SC_OK, "hello from tomcat, generation " + generation + "\n");
            } else if (path.equals("/sleep")) {
                long millis;
                try {
                    millis = SleepParameter.millis(request.getParameter("ms"));
                } catch (IllegalArgumentException e) {
                    respond(response, HttpServletResponse.SC_BAD_REQUEST, e.getMessage() + "\n");
                    return;
                }
                // Scheduled, not slept: no pool thread is held while the request waits.
                AsyncContext async = request.startAsync();
                async.setTimeout(millis + 10_000);
                timer.schedule(() -> {
                    try {
                        respond((HttpServletResponse) async.getResponse(), HttpServletResponse.SC_OK,
                                "slept " + millis + " ms, generation " + generation + "\n");
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    } finally {
                        async.complete();
                    }
                }, millis, TimeUnit.MILLISECONDS);
            } else {
                respond(response, HttpServletResponse.SC_NOT_FOUND, "not found\n");
            }
        }

        private static void respond(HttpServletResponse response, int status, String body) throws IOException {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            response.setStatus(status);
            response.setContentLength(bytes.length);
            response.getOutputStream().write(bytes);
        }
    }

    private static void stop(Tomcat tomcat) {
        try {
            tomcat.stop();
        } catch (Exception e) {
            System.err.println(NAME + ": stopping Tomcat failed: " + e);
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
            System.err.println(NAME + ": cannot delete " + root + ": " + e);
        }
    }
}

package org.serverstarter.jetty;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.util.FutureCallback;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;

/**
 * A Jetty app as a user would write it: {@code /} answers with generation and pid, {@code /sleep?ms=N} answers after N
 * ms, {@code /stream} commits its answer with the first half of the body and sends the rest once the file
 * {@code STREAM_UNTIL} exists. Under start_server it serves the inherited sockets; otherwise it binds {@code PORT} itself. With {@code FAIL_START}
 * set, the app fails to start, as one with a broken configuration would. With {@code WARM_UP_UNTIL=FILE} it defers
 * {@code READY=1} until that file exists, as an app warming up after its server started would. It drains for at most
 * {@code DRAIN_TIMEOUT_MS}, 10 s by default.
 */
public final class JettyWorker {
    public static void main(String[] args) throws Exception {
        long generation = ServerStarter.fromEnvironment().generation();
        String warmUpUntil = System.getenv("WARM_UP_UNTIL");
        if (warmUpUntil != null) {
            Readiness.deferReady();
        }
        Server server = new Server();
        server.setHandler(new Handler.Abstract() {
            @Override
            protected void doStart() throws Exception {
                if (System.getenv("FAIL_START") != null) {
                    throw new IllegalStateException("the app cannot start (FAIL_START is set)");
                }
                super.doStart();
            }

            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                Fields query = Request.extractQueryParameters(request);
                if (request.getHttpURI().getPath().equals("/sleep")) {
                    System.out.println("sleep started gen=" + generation);
                    Thread.sleep(Long.parseLong(query.getValue("ms")));
                }
                String body = "gen=" + generation + " pid=" + ProcessHandle.current().pid() + "\n";
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
                if (request.getHttpURI().getPath().equals("/stream")) {
                    FutureCallback committed = new FutureCallback();
                    response.write(false, StandardCharsets.UTF_8.encode("gen=" + generation + " "), committed);
                    committed.get();
                    System.out.println("stream started gen=" + generation);
                    Path until = Path.of(System.getenv("STREAM_UNTIL"));
                    while (!Files.exists(until)) {
                        Thread.sleep(20);
                    }
                    body = "pid=" + ProcessHandle.current().pid() + "\n";
                }
                response.write(true, StandardCharsets.UTF_8.encode(body), callback);
                return true;
            }
        });
        String drainTimeout = System.getenv("DRAIN_TIMEOUT_MS");
        try {
            JettyServerStarter starter = JettyServerStarter.fromEnvironment();
            if (starter.isPresent()) {
                starter.listen(server);
                starter.drainOnShutdown(Duration.ofMillis(drainTimeout == null ? 10_000 : Long.parseLong(drainTimeout)));
            } else {
                ServerConnector connector = new ServerConnector(server);
                connector.setHost("127.0.0.1");
                connector.setPort(Integer.parseInt(System.getenv("PORT")));
                server.addConnector(connector);
            }
        } catch (StarterException e) {
            System.err.println("worker: " + e.getMessage());
            System.exit(3);
        }
        try {
            server.start();
        } catch (Exception e) {
            System.err.println("worker: " + e.getMessage());
            System.exit(4);
        }
        if (!JettyServerStarter.fromEnvironment().isPresent() && warmUpUntil == null) {
            // On its own port the app reports readiness itself (systemd's Type=notify), as the README shows.
            Readiness.notifyReady();
        }
        System.out.println("jetty ready gen=" + generation + " pid=" + ProcessHandle.current().pid());
        if (warmUpUntil != null) {
            while (!Files.exists(Path.of(warmUpUntil))) {
                Thread.sleep(20);
            }
            System.out.println("warmed up gen=" + generation);
            Readiness.notifyReady();
        }
    }
}

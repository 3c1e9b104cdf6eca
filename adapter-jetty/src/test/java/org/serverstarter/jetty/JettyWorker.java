package org.serverstarter.jetty;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.FutureCallback;
import org.serverstarter.testkit.ContractApp;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;

/**
 * A Jetty app as a user would write it, speaking {@link ContractApp}'s protocol for the adapter contract, and prints
 * {@code jetty ready gen=G pid=P} once it serves. Jetty's own cases use more: {@code /stream} commits its answer with
 * the first half of the body and sends the rest once the file {@code STREAM_UNTIL} exists; with {@code FAIL_START}
 * set the app fails to start, as one with a broken configuration would; with {@code WARM_UP_UNTIL=FILE} it defers
 * {@code READY=1} until that file exists, as an app warming up after its server started would; with
 * {@code STOP_AT_SHUTDOWN} set it also has Jetty stop the server at shutdown, with the drain timeout as stop timeout.
 */
public final class JettyWorker {
    public static void main(String[] args) throws Exception {
        long generation = ServerStarter.fromEnvironment().generation();
        String warmUpUntil = System.getenv("WARM_UP_UNTIL");
        if (warmUpUntil != null || ContractApp.defersReady()) {
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
                String path = request.getHttpURI().getPath();
                String body = ContractApp.body();
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
                if (path.equals(ContractApp.HOLD)) {
                    ContractApp.holdStarted();
                    if (!ContractApp.awaitShutdown()) {
                        Response.writeError(request, response, callback, HttpStatus.SERVICE_UNAVAILABLE_503);
                        return true;
                    }
                } else if (path.equals("/stream")) {
                    int split = body.indexOf(' ') + 1;
                    FutureCallback committed = new FutureCallback();
                    response.write(false, StandardCharsets.UTF_8.encode(body.substring(0, split)), committed);
                    committed.get();
                    System.out.println("stream started gen=" + generation);
                    Path until = Path.of(System.getenv("STREAM_UNTIL"));
                    while (!Files.exists(until)) {
                        Thread.sleep(20);
                    }
                    body = body.substring(split);
                }
                response.write(true, StandardCharsets.UTF_8.encode(body), callback);
                return true;
            }
        });
        try {
            JettyServerStarter starter = JettyServerStarter.fromEnvironment();
            if (starter.isPresent()) {
                starter.listen(server);
                starter.drainOnShutdown(ContractApp.drainTimeout());
                if (System.getenv("STOP_AT_SHUTDOWN") != null) {
                    server.setStopAtShutdown(true);
                    server.setStopTimeout(ContractApp.drainTimeout().toMillis());
                }
            } else {
                ServerConnector connector = new ServerConnector(server);
                connector.setHost("127.0.0.1");
                connector.setPort(ContractApp.ownPort());
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
        if (ContractApp.defersReady()) {
            ContractApp.awaitReadyFile();
            Readiness.notifyReady();
        } else if (!JettyServerStarter.fromEnvironment().isPresent() && warmUpUntil == null) {
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

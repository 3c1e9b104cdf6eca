package org.serverstarter.samples.jetty;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.internal.WarmUpClient;
import org.serverstarter.jetty.JettyServerStarter;
import org.serverstarter.samples.Settings;
import org.serverstarter.samples.SleepParameter;
import org.serverstarter.samples.Startup;
import org.serverstarter.samples.Tls;
import org.serverstarter.samples.WarmUp;

/**
 * A Jetty HTTP app that serves the sockets inherited from {@code start_server} through {@link JettyServerStarter}, or
 * 127.0.0.1:$PORT when started on its own. See the samples README for the routes and variables.
 */
public final class JettySampleApp {
    private static final String NAME = "jetty-sample";
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(40);

    private JettySampleApp() {}

    public static void main(String[] args) {
        Startup.run(NAME, JettySampleApp::serve);
    }

    private static void serve(Settings settings) throws Exception {
        // Jetty's default pool (200 threads) is far more than a small app on a small box needs. All 32 are started
        // with the server: a new generation takes over every client at once, and a pool that grew then (from 4 to
        // about 24 threads under the benchmark's load) held up its first requests (docs/benchmarks-zero-downtime.md,
        // "Jetty's thread pool starts full").
        Server server = new Server(new QueuedThreadPool(32, 32));
        server.setHandler(new Routes(Long.toString(settings.generation())));
        // READY=1 only after the warm-up below, not as soon as the connectors accept.
        Readiness.deferReady();
        JettyServerStarter starter = JettyServerStarter.fromEnvironment();
        if (!starter.isPresent()) {
            System.out.println(settings.fallbackNotice(NAME));
            ServerConnector own = settings.tls().isPresent()
                    ? new ServerConnector(server, https(settings.tls().get()).toArray(ConnectionFactory[]::new))
                    : new ServerConnector(server);
            own.setHost("127.0.0.1");
            own.setPort(settings.fallbackPort());
            server.addConnector(own);
            server.setStopAtShutdown(true);
            server.start();
            return;
        }
        if (settings.tls().isPresent()) {
            starter.listen(server, socket -> https(settings.tls().get()));
        } else {
            starter.listen(server);
        }
        starter.drainOnShutdown(DRAIN_TIMEOUT);
        server.start();
        System.out.println(NAME + ": generation " + settings.generation() + " pid " + ProcessHandle.current().pid()
                + " serving " + server.getConnectors().length + " inherited socket(s)");
        WarmUp.thenAnnounce(settings, NAME, new WarmUpClient.Port() {
            private final ServerConnector warmUp = settings.tls().isPresent()
                    ? new ServerConnector(server, 1, 1, https(settings.tls().get()).toArray(ConnectionFactory[]::new))
                    : new ServerConnector(server, 1, 1);

            @Override
            public InetSocketAddress open() throws Exception {
                warmUp.setHost("127.0.0.1");
                warmUp.setPort(0);
                server.addConnector(warmUp);
                warmUp.start();
                return new InetSocketAddress("127.0.0.1", warmUp.getLocalPort());
            }

            @Override
            public void close() throws Exception {
                warmUp.stop();
                server.removeConnector(warmUp);
            }
        });
    }

    /**
     * Jetty's own TLS set-up, HTTP/2 and HTTP/1.1 over ALPN (HTTP/1.1 for clients that offer neither), for one
     * connector: each connector gets factories of its own. The keystore is read when the connector starts.
     */
    private static List<ConnectionFactory> https(Tls tls) {
        HttpConfiguration config = new HttpConfiguration();
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        // One certificate for 127.0.0.1, ::1 and localhost; clients of an IP address send no SNI to check.
        secure.setSniHostCheck(false);
        config.addCustomizer(secure);
        HttpConnectionFactory http11 = new HttpConnectionFactory(config);
        HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(config);
        ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
        alpn.setDefaultProtocol(http11.getProtocol());
        SslContextFactory.Server keys = new SslContextFactory.Server();
        keys.setKeyStorePath(tls.keystore().toString());
        keys.setKeyStoreType("PKCS12");
        keys.setKeyStorePassword(tls.password());
        return List.of(new SslConnectionFactory(keys, alpn.getProtocol()), alpn, h2, http11);
    }

    /** {@code GET /} and {@code GET /sleep?ms=N}; both carry {@code X-Generation}. */
    static final class Routes extends Handler.Abstract {
        private final String generation;

        Routes(String generation) {
            this.generation = generation;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            response.getHeaders().put("X-Generation", generation);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
            String path = Request.getPathInContext(request);
            if (!HttpMethod.GET.is(request.getMethod())) {
                respond(response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, "only GET\n");
            } else if (path.equals("/")) {
                respond(response, callback, HttpStatus.OK_200, "hello from jetty, generation " + generation + "\n");
            } else if (path.equals("/sleep")) {
                long millis;
                try {
                    millis = SleepParameter.millis(Request.extractQueryParameters(request).getValue("ms"));
                } catch (IllegalArgumentException e) {
                    respond(response, callback, HttpStatus.BAD_REQUEST_400, e.getMessage() + "\n");
                    return true;
                }
                // Scheduled, not slept: no pool thread is held while the request waits.
                request.getComponents().getScheduler().schedule(() -> respond(response, callback, HttpStatus.OK_200,
                        "slept " + millis + " ms, generation " + generation + "\n"), millis, TimeUnit.MILLISECONDS);
            } else {
                respond(response, callback, HttpStatus.NOT_FOUND_404, "not found\n");
            }
            return true;
        }

        private static void respond(Response response, Callback callback, int status, String body) {
            response.setStatus(status);
            response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
        }
    }
}

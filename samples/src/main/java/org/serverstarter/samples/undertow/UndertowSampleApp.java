package org.serverstarter.samples.undertow;

import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import io.undertow.util.SameThreadExecutor;
import io.undertow.util.StatusCodes;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.internal.WarmUpClient;
import org.serverstarter.samples.Settings;
import org.serverstarter.samples.SleepParameter;
import org.serverstarter.samples.Startup;
import org.serverstarter.samples.WarmUp;
import org.serverstarter.undertow.UndertowServerStarter;

/**
 * An Undertow HTTP app that serves the sockets inherited from {@code start_server} through {@link UndertowServerStarter},
 * or 127.0.0.1:$PORT when started on its own. See the samples README for the routes and variables.
 */
public final class UndertowSampleApp {
    private static final String NAME = "undertow-sample";
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(40);
    private static final HttpString X_GENERATION = new HttpString("X-Generation");

    private UndertowSampleApp() {}

    public static void main(String[] args) {
        Startup.run(NAME, UndertowSampleApp::serve);
    }

    private static void serve(Settings settings) throws Exception {
        HttpHandler app = routes(Long.toString(settings.generation()));
        // READY=1 only after the warm-up below, not as soon as the listener accepts.
        Readiness.deferReady();
        UndertowServerStarter starter = UndertowServerStarter.fromEnvironment();
        Undertow.Builder builder = Undertow.builder().setHandler(app);
        // Under SAMPLE_TLS: Undertow's own HTTPS set-up, HTTP/2 and HTTP/1.1 over ALPN; the keystore is read now.
        SSLContext tls = settings.tls().isPresent() ? settings.tls().get().serverContext() : null;
        if (tls != null) {
            builder.setServerOption(UndertowOptions.ENABLE_HTTP2, true);
        }
        if (!starter.isPresent()) {
            System.out.println(settings.fallbackNotice(NAME));
            Undertow own = (tls != null ? builder.addHttpsListener(settings.fallbackPort(), "127.0.0.1", tls)
                    : builder.addHttpListener(settings.fallbackPort(), "127.0.0.1")).build();
            own.start();
            Runtime.getRuntime().addShutdownHook(new Thread(own::stop));
            return;
        }
        starter.listen(builder, tls);
        starter.drainOnShutdown(DRAIN_TIMEOUT);
        System.out.println(NAME + ": generation " + settings.generation() + " pid " + ProcessHandle.current().pid()
                + " serving " + starter.addresses());
        // A throwaway server on a private port, so that the warm-up's requests do not go through the shared sockets.
        WarmUp.thenAnnounce(settings, NAME, new WarmUpClient.Port() {
            private Undertow warmUp;

            @Override
            public InetSocketAddress open() {
                Undertow.Builder warm = Undertow.builder().setIoThreads(1).setWorkerThreads(1).setHandler(app);
                warmUp = (tls != null ? warm.addHttpsListener(0, "127.0.0.1", tls)
                        : warm.addHttpListener(0, "127.0.0.1")).build();
                warmUp.start();
                return (InetSocketAddress) warmUp.getListenerInfo().get(0).getAddress();
            }

            @Override
            public void close() {
                warmUp.stop();
            }
        });
    }

    /** {@code GET /} and {@code GET /sleep?ms=N}; both carry {@code X-Generation}. */
    static HttpHandler routes(String generation) {
        return exchange -> {
            exchange.getResponseHeaders().put(X_GENERATION, generation);
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
            if (!exchange.getRequestMethod().equals(Methods.GET)) {
                respond(exchange, StatusCodes.METHOD_NOT_ALLOWED, "only GET\n");
            } else if (exchange.getRequestPath().equals("/")) {
                respond(exchange, StatusCodes.OK, "hello from undertow, generation " + generation + "\n");
            } else if (exchange.getRequestPath().equals("/sleep")) {
                Deque<String> ms = exchange.getQueryParameters().get("ms");
                long millis;
                try {
                    millis = SleepParameter.millis(ms == null ? null : ms.getFirst());
                } catch (IllegalArgumentException e) {
                    respond(exchange, StatusCodes.BAD_REQUEST, e.getMessage() + "\n");
                    return;
                }
                // Scheduled on the connection's IO thread, not slept on a worker thread.
                exchange.dispatch(SameThreadExecutor.INSTANCE, () -> exchange.getIoThread().executeAfter(
                        () -> respond(exchange, StatusCodes.OK, "slept " + millis + " ms, generation " + generation + "\n"),
                        millis, TimeUnit.MILLISECONDS));
            } else {
                respond(exchange, StatusCodes.NOT_FOUND, "not found\n");
            }
        };
    }

    private static void respond(HttpServerExchange exchange, int status, String body) {
        exchange.setStatusCode(status);
        exchange.getResponseSender().send(body);
    }
}

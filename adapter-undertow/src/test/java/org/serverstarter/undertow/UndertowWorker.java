package org.serverstarter.undertow;

import java.time.Duration;
import java.util.Deque;

import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;

/**
 * The worker {@code UndertowServerStarterIT} runs under start_server: an app wired exactly as the README shows.
 * {@code GET /} answers {@code pid=<pid>}; {@code GET /slow?ms=N} prints "slow request started", then answers
 * after N ms. An unusable {@code SERVER_STARTER_PORT} propagates out of {@code main} as it would in an app.
 */
public final class UndertowWorker {
    private static final long PID = ProcessHandle.current().pid();

    private UndertowWorker() {
    }

    public static void main(String[] args) {
        HttpHandler app = exchange -> {
            if (exchange.getRequestPath().equals("/slow")) {
                exchange.dispatch(() -> answerSlowly(exchange));
            } else {
                exchange.getResponseSender().send("pid=" + PID);
            }
        };
        UndertowServerStarter starter = UndertowServerStarter.fromEnvironment();
        if (!starter.isPresent()) {
            System.err.println("not under start_server");
            System.exit(2);
        }
        Undertow server = starter.listen(Undertow.builder().setHandler(app));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            boolean drained = starter.drain(Duration.ofSeconds(20));
            server.stop();
            System.out.println("worker " + PID + " stopped, drained=" + drained);
        }));
        System.out.println("worker " + PID + " serving " + starter.addresses());
    }

    private static void answerSlowly(HttpServerExchange exchange) {
        Deque<String> ms = exchange.getQueryParameters().get("ms");
        System.out.println("worker " + PID + " slow request started");
        try {
            Thread.sleep(Long.parseLong(ms == null ? "1000" : ms.getFirst()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        exchange.getResponseSender().send("slow done pid=" + PID);
    }
}

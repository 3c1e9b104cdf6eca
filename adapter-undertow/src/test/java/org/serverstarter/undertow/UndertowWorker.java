package org.serverstarter.undertow;

import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.StatusCodes;
import org.serverstarter.testkit.ContractApp;
import org.serverstarter.adapters.Readiness;

/**
 * An Undertow app wired exactly as the README shows, speaking {@link ContractApp}'s protocol for the adapter
 * contract. An unusable {@code SERVER_STARTER_PORT} propagates out of {@code main} as it would in an app.
 */
public final class UndertowWorker {
    private UndertowWorker() {
    }

    public static void main(String[] args) {
        HttpHandler app = exchange -> {
            if (exchange.getRequestPath().equals(ContractApp.HOLD)) {
                // Off the I/O thread, which must keep serving the other connections meanwhile.
                exchange.dispatch(() -> answerOnShutdown(exchange));
            } else {
                exchange.getResponseSender().send(ContractApp.body());
            }
        };
        Undertow.Builder builder = Undertow.builder().setHandler(app);
        UndertowServerStarter starter = UndertowServerStarter.fromEnvironment();
        if (starter.isPresent()) {
            starter.listen(builder);
            starter.drainOnShutdown(ContractApp.drainTimeout());
        } else {
            builder.addHttpListener(ContractApp.ownPort(), "127.0.0.1").build().start();
            Readiness.notifyReady();
        }
    }

    private static void answerOnShutdown(HttpServerExchange exchange) {
        ContractApp.holdStarted();
        if (ContractApp.awaitShutdown()) {
            exchange.getResponseSender().send(ContractApp.body());
        } else {
            exchange.setStatusCode(StatusCodes.SERVICE_UNAVAILABLE);
            exchange.getResponseSender().send("never released\n");
        }
    }
}

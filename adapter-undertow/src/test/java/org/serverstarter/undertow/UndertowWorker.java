package org.serverstarter.undertow;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.StatusCodes;
import org.serverstarter.testkit.ContractApp;
import org.serverstarter.adapters.Readiness;

/**
 * An Undertow app wired exactly as the README shows, speaking {@link ContractApp}'s protocol for the adapter
 * contract. An unusable {@code SERVER_STARTER_PORT} propagates out of {@code main} as it would in an app. With
 * {@code KEYSTORE} (a PKCS12 file) and {@code KEYSTORE_PASSWORD} set it serves HTTPS on the inherited sockets.
 */
public final class UndertowWorker {
    private UndertowWorker() {
    }

    public static void main(String[] args) throws Exception {
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
        if (ContractApp.defersReady()) {
            Readiness.deferReady();
        }
        if (starter.isPresent()) {
            starter.listen(builder, tls());
            starter.drainOnShutdown(ContractApp.drainTimeout());
            if (ContractApp.defersReady()) {
                ContractApp.awaitReadyFile();
                Readiness.notifyReady();
            }
        } else {
            builder.addHttpListener(ContractApp.ownPort(), "127.0.0.1").build().start();
            Readiness.notifyReady();
        }
    }

    /** The server's TLS context from {@code KEYSTORE}, or null (plain HTTP) when that is unset. */
    private static SSLContext tls() throws Exception {
        String keystore = System.getenv("KEYSTORE");
        if (keystore == null) {
            return null;
        }
        char[] password = System.getenv("KEYSTORE_PASSWORD").toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Path.of(keystore))) {
            keys.load(in, password);
        }
        KeyManagerFactory managers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        managers.init(keys, password);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(managers.getKeyManagers(), null, null);
        return context;
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

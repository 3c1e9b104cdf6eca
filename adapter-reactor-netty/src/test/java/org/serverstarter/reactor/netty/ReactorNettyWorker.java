package org.serverstarter.reactor.netty;

import io.netty.channel.EventLoop;
import java.util.List;
import org.serverstarter.testkit.ContractApp;
import org.serverstarter.adapters.Readiness;
import org.serverstarter.adapters.StarterException;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.DisposableServer;
import reactor.netty.NettyOutbound;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/**
 * The worker the integration tests run: a Reactor Netty {@link HttpServer} on {@link ReactorNettyServerStarter}, set
 * up the way the README tells apps to, speaking {@link ContractApp}'s protocol for the adapter contract.
 *
 * <p>Arguments: {@code NATIVE} (epoll where Netty's native library loads) or {@code NIO}.
 */
public final class ReactorNettyWorker {
    private ReactorNettyWorker() {}

    public static void main(String[] args) {
        boolean preferNative = args[0].equals("NATIVE");
        HttpServer server = server(preferNative);
        DisposableServer first;
        try {
            ReactorNettyServerStarter starter = ReactorNettyServerStarter.fromEnvironment();
            if (starter.isPresent()) {
                if (ContractApp.defersReady()) {
                    Readiness.deferReady();
                }
                List<DisposableServer> servers = starter.bind(server);
                starter.drainOnShutdown(ContractApp.drainTimeout());
                System.out.println("ReactorNettyWorker serving " + ContractApp.identity() + " on "
                        + servers.stream().map(s -> s.channel().toString()).toList());
                first = servers.get(0);
                if (ContractApp.defersReady()) {
                    ContractApp.awaitReadyFile();
                    Readiness.notifyReady();
                }
            } else {
                first = server.host("127.0.0.1").port(ContractApp.ownPort()).bindNow();
                Readiness.notifyReady();
            }
        } catch (StarterException e) {
            System.err.println("ReactorNettyWorker: " + e.getMessage());
            System.exit(1);
            return;
        }
        // Reactor Netty's event loop threads are daemons: main keeps the JVM up until the server channel closes.
        first.onDispose().block();
    }

    /** The app's server, as the README shows it. */
    static HttpServer server(boolean preferNative) {
        HttpServer server = HttpServer.create().route(routes -> routes
                .get("/", (request, response) -> answer(response))
                .get(ContractApp.HOLD, (request, response) -> {
                    ContractApp.holdStarted();
                    EventLoop loop = eventLoopOf(request);
                    // Waits off the event loop, so the other connections are served meanwhile, and answers on it:
                    // Reactor Netty 1.3.6 can stop reading a keep-alive connection whose next request arrives before
                    // an answer completed elsewhere has finished (reactor/reactor-netty#4347), and the contract sends
                    // that request at once.
                    return Mono.fromCallable(ContractApp::awaitShutdown).subscribeOn(Schedulers.boundedElastic())
                            .publishOn(Schedulers.fromExecutor(loop))
                            .flatMap(shutdown -> shutdown ? answer(response).then()
                                    : response.status(503).sendString(Mono.just("drain never began "
                                            + ContractApp.identity() + "\n")).then());
                }));
        return server.runOn(server.configuration().loopResources(), preferNative);
    }

    private static EventLoop eventLoopOf(HttpServerRequest request) {
        EventLoop[] loop = new EventLoop[1];
        request.withConnection(connection -> loop[0] = connection.channel().eventLoop());
        return loop[0];
    }

    private static NettyOutbound answer(HttpServerResponse response) {
        return response.header("Content-Type", "text/plain; charset=utf-8").sendString(Mono.just(ContractApp.body()));
    }
}

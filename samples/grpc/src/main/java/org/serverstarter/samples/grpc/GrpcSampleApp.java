package org.serverstarter.samples.grpc;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;
import org.serverstarter.grpc.GrpcServerStarter;

/**
 * A grpc-java service ({@link SampleService}: a unary and a server-streaming method) that serves the sockets inherited
 * from {@code start_server} through {@link GrpcServerStarter}, or 127.0.0.1:$PORT (default 8080) when started on its
 * own. On TERM it drains: the clients get a graceful {@code GOAWAY}, the calls already sent finish here (at most
 * 40 s), new ones go to the next generation. See the samples README.
 */
public final class GrpcSampleApp {
    private static final String NAME = "grpc-sample";
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(40);

    private GrpcSampleApp() {}

    public static void main(String[] args) throws InterruptedException {
        Server server;
        try {
            server = serve();
        } catch (StarterException | IllegalArgumentException e) {
            // One line: the superdaemon's log shows why this generation failed, and retries it.
            System.err.println(NAME + ": cannot start: " + e.getMessage());
            System.exit(1);
            return;
        } catch (Exception e) {
            System.err.println(NAME + ": cannot start: " + e);
            System.exit(1);
            return;
        }
        server.awaitTermination();
    }

    private static Server serve() throws Exception {
        GrpcServerStarter starter = GrpcServerStarter.fromEnvironment();
        long generation = ServerStarter.fromEnvironment().generation();
        AtomicBoolean draining = new AtomicBoolean();
        // Runs beside the adapter's drain (hooks run concurrently): ends the watches, which the drain waits for.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> draining.set(true), NAME + "-draining"));
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, NAME + "-ticks");
            thread.setDaemon(true);
            return thread;
        });
        SampleService service = new SampleService(generation, timer, draining::get);
        if (!starter.isPresent()) {
            int port = fallbackPort();
            Server own = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                    .addService(service.definition()).build().start();
            System.out.println(NAME + ": not under a superdaemon (SERVER_STARTER_PORT is not set); listening on "
                    + "127.0.0.1:" + port + " myself, without hot restarts");
            Runtime.getRuntime().addShutdownHook(new Thread(own::shutdown, NAME + "-stop"));
            return own;
        }
        Server server = starter.listen(starter.serverBuilder().addService(service.definition()));
        starter.drainOnShutdown(DRAIN_TIMEOUT);
        System.out.println(NAME + ": generation " + generation + " pid " + ProcessHandle.current().pid()
                + " serving " + server.getListenSockets().size() + " inherited socket(s)");
        return server;
    }

    private static int fallbackPort() {
        String port = System.getenv().getOrDefault("PORT", "8080");
        try {
            return Integer.parseInt(port.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("PORT must be a number, not '" + port + "'");
        }
    }
}

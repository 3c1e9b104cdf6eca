package org.serverstarter.superdaemon.client;

import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.server.Fatal;
import org.serverstarter.superdaemon.server.StatusSocket;

/**
 * {@code start_server --status}: asks the start_server that holds the pid file what it is doing and prints its JSON
 * document (docs/status.md), or with {@code --format=text} the same for a human. The instance and its socket are
 * checked as {@link InstanceSocket} says. Exit statuses: 0; 3 no start_server holds the pid file; 13 refused (another
 * user's start_server); 110 timed out; 111 nothing answers on the status socket (Perl's start_server, or the name was
 * taken); 255 anything else.
 */
public final class StatusClient {
    private static final int EACCES = 13;
    private static final long DEFAULT_TIMEOUT_SECONDS = 10;
    private static final InstanceSocket.Question STATUS =
            new InstanceSocket.Question("--status", "status socket", "for its status", 1 << 20, false);

    private StatusClient() {
    }

    public static int run(Options options) {
        InstanceSocket.Instance instance = InstanceSocket.find(options, "--status");
        long timeout = options.timeout() == null ? DEFAULT_TIMEOUT_SECONDS : options.timeout();
        String json = InstanceSocket.ask(instance, StatusSocket.name(instance.pid(), instance.inode()), STATUS,
                timeout, "the status of " + instance.who());
        if (json.isEmpty()) {
            throw new Fatal(instance.who() + " refused the status request (it answers its own user and root only)",
                    EACCES);
        }
        System.out.print("text".equals(options.format()) ? StatusText.render(json) : json);
        System.out.flush();
        return 0;
    }
}

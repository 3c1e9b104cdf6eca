package org.serverstarter.superdaemon.client;

import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.server.Fatal;
import org.serverstarter.superdaemon.server.UpgradeSocket;

/**
 * {@code start_server --upgrade}: asks the start_server that holds the pid file to replace itself with a fresh start
 * of its launcher (a rebuilt jar, a new JDK) in the same process, with the same sockets and workers, and waits for
 * the outcome: the new image answers once it runs, or the old one says why the new one could not start. Connecting
 * is the request; the instance and its socket are checked as {@link InstanceSocket} says.
 *
 * <p>Exit statuses: 0 upgraded; 3 no start_server holds the pid file; 110 timed out ({@code --timeout}); 111 nothing
 * answers on the upgrade socket (Perl's start_server, or an older one); 255 refused (the new image cannot start; the
 * running one goes on untouched) and anything else.
 */
public final class UpgradeClient {
    private static final InstanceSocket.Question UPGRADE =
            new InstanceSocket.Question("--upgrade", "upgrade socket", "to upgrade", 4096, true);

    private UpgradeClient() {
    }

    public static int run(Options options) {
        InstanceSocket.Instance instance = InstanceSocket.find(options, "--upgrade");
        long pid = instance.pid();
        String answer = InstanceSocket.ask(instance, UpgradeSocket.name(pid, instance.inode()), UPGRADE,
                options.timeout(), instance.who() + " to upgrade");
        if (answer.isEmpty()) {
            throw Fatal.of(instance.who() + " closed the connection without an answer (another user's start_server "
                    + "answers only its own user and root; otherwise see its log)");
        }
        if (answer.startsWith("ok ")) {
            System.out.println("start_server (pid:" + pid + ") upgraded: " + answer.substring(3));
            return 0;
        }
        throw Fatal.of("start_server (pid:" + pid + ") did not upgrade: "
                + (answer.startsWith("refused ") ? answer.substring(8) : answer) + "; the running one goes on");
    }
}

package org.serverstarter.compat;

import org.eclipse.jetty.server.Server;
import org.serverstarter.jetty.JettyServerStarter;

/** An app that lets whatever {@code listen} throws escape {@code main}, as a short app would. */
public final class TooOldJettyApp {
    public static void main(String[] args) {
        JettyServerStarter.fromEnvironment().listen(new Server());
    }
}

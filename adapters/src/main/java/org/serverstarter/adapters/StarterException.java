package org.serverstarter.adapters;

/**
 * The worker side of the Server::Starter contract is broken: {@code SERVER_STARTER_PORT} is missing or malformed, an
 * fd is not the socket its entry names, or the JVM lacks the flag needed to adopt it. The message is one line meant
 * for the log a superdaemon prints, naming the entry and what to fix.
 */
public class StarterException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public StarterException(String message) {
        super(message);
    }

    public StarterException(String message, Throwable cause) {
        super(message, cause);
    }
}

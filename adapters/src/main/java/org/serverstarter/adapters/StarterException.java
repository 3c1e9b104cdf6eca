package org.serverstarter.adapters;

import java.io.PrintStream;
import java.io.PrintWriter;

/**
 * The worker side of the Server::Starter contract is broken: {@code SERVER_STARTER_PORT} is missing or malformed, an
 * fd is not the socket its entry names, or the JVM lacks the flag needed to adopt it. The message is one line meant
 * for the log a superdaemon prints, naming the entry and what to fix.
 *
 * <p>It prints as that one line, also when it escapes {@code main}: it has no stack trace, and the JVM's report of an
 * uncaught exception shows neither frames nor the cause. A stack trace would say nothing about a wrong fd or a missing
 * flag, and {@code start_server} retries a failing worker every second, so the log would repeat it. The cause, when
 * there is one, is still there for code that inspects {@link #getCause()}.
 */
public class StarterException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /** @param message the one line: which entry or fd, what is wrong with it, and what to fix */
    public StarterException(String message) {
        this(message, null);
    }

    /**
     * @param message the one line: which entry or fd, what is wrong with it, and what to fix
     * @param cause what the JDK or the framework threw, kept for {@link #getCause()} but never printed
     */
    public StarterException(String message, Throwable cause) {
        super(message, cause);
        setStackTrace(new StackTraceElement[0]);
    }

    /** No frames to fill in: see the class comment. */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }

    /** Prints {@link #toString()}, the class name and the message, as one line. */
    @Override
    public void printStackTrace(PrintStream s) {
        s.println(this);
    }

    /** Prints {@link #toString()}, the class name and the message, as one line. */
    @Override
    public void printStackTrace(PrintWriter s) {
        s.println(this);
    }
}

package org.serverstarter.superdaemon.cli;

import java.util.List;

/** Command-line errors, one line each, worded as Getopt::Long words them; start_server exits 1 after printing. */
public final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    private final List<String> lines;

    UsageException(List<String> lines) {
        super(String.join("\n", lines));
        this.lines = List.copyOf(lines);
    }

    public List<String> lines() {
        return lines;
    }
}

package org.serverstarter.superdaemon.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Parses start_server's arguments the way Perl's Getopt::Long does with its default settings, because deploy
 * scripts written for Perl's start_server must keep working: {@code --name=value} and {@code --name value}, one or
 * two dashes, any unambiguous prefix, case-insensitive names, repeated {@code --port}/{@code --path}, the last value
 * of any other option, and options recognised even after the program name (only {@code --} ends them).
 */
public final class CommandLine {
    private enum Kind { STRING, LIST, INTEGER, FLAG }

    private static final Map<String, Kind> OPTIONS = new HashMap<>();

    static {
        for (String name : List.of("log-file", "pid-file", "dir", "signal-on-hup", "signal-on-term", "envdir",
                "status-file", "readiness", "path-mode", "format", "metrics")) {
            OPTIONS.put(name, Kind.STRING);
        }
        OPTIONS.put("port", Kind.LIST);
        OPTIONS.put("path", Kind.LIST);
        for (String name : List.of("interval", "backlog", "auto-restart-interval", "kill-old-delay",
                "ready-timeout", "kill-timeout", "max-backoff", "new-worker-nice", "timeout")) {
            OPTIONS.put(name, Kind.INTEGER);
        }
        for (String name : List.of("enable-auto-restart", "daemonize", "restart", "stop", "help", "version",
                "status", "upgrade")) {
            OPTIONS.put(name, Kind.FLAG);
        }
    }

    private CommandLine() {
    }

    public static Options parse(String... args) throws UsageException {
        Map<String, List<String>> lists = new HashMap<>();
        Map<String, String> values = new HashMap<>();
        Map<String, Long> integers = new HashMap<>();
        List<String> program = new ArrayList<>();
        List<String> errors = new ArrayList<>();

        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--")) {
                program.addAll(List.of(args).subList(i + 1, args.length));
                break;
            }
            if (!arg.startsWith("-") || arg.equals("-")) {
                program.add(arg);
                continue;
            }
            String body = arg.startsWith("--") ? arg.substring(2) : arg.substring(1);
            int eq = body.indexOf('=');
            String given = (eq < 0 ? body : body.substring(0, eq)).toLowerCase(Locale.ROOT);
            String inline = eq < 0 ? null : body.substring(eq + 1);
            String name;
            try {
                name = resolve(given);
            } catch (UsageException e) {
                errors.addAll(e.lines());
                continue;
            }
            if (name.equals("status") && inline != null) {
                // Perl's start_server has no --status, so Getopt took --status=FILE for --status-file; scripts
                // written for it keep working.
                name = "status-file";
            }
            Kind kind = OPTIONS.get(name);
            if (kind == Kind.FLAG) {
                if (inline != null) {
                    errors.add("Option " + name + " does not take an argument");
                } else {
                    values.put(name, "1");
                }
                continue;
            }
            String value = inline;
            if (value == null && i + 1 < args.length) {
                value = args[++i];
            }
            if (value == null || value.isEmpty() && inline != null) {
                errors.add("Option " + name + " requires an argument");
                continue;
            }
            switch (kind) {
                case LIST -> lists.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
                case STRING -> values.put(name, value);
                case INTEGER -> {
                    if (value.matches("[-+]?\\d+")) {
                        integers.put(name, parseInteger(value));
                    } else {
                        errors.add("Value \"" + value + "\" invalid for option " + name + " (number expected)");
                    }
                }
                default -> throw new AssertionError(kind);
            }
        }
        if (!errors.isEmpty()) {
            throw new UsageException(errors);
        }
        return new Options(
                lists.getOrDefault("port", List.of()),
                lists.getOrDefault("path", List.of()),
                values.get("path-mode"),
                values.get("dir"),
                integers.get("interval"),
                values.get("log-file"),
                values.get("pid-file"),
                values.get("status-file"),
                values.get("signal-on-hup"),
                values.get("signal-on-term"),
                values.get("envdir"),
                values.containsKey("enable-auto-restart"),
                integers.get("auto-restart-interval"),
                integers.get("kill-old-delay"),
                integers.get("backlog"),
                values.containsKey("daemonize"),
                values.containsKey("restart"),
                values.containsKey("stop"),
                values.containsKey("help"),
                values.containsKey("version"),
                values.get("readiness"),
                integers.get("ready-timeout"),
                integers.get("kill-timeout"),
                integers.get("max-backoff"),
                integers.get("new-worker-nice"),
                integers.get("timeout"),
                values.containsKey("status"),
                values.get("format"),
                values.get("metrics"),
                values.containsKey("upgrade"),
                program);
    }

    private static String resolve(String given) throws UsageException {
        if (OPTIONS.containsKey(given)) {
            return given;
        }
        TreeSet<String> candidates = new TreeSet<>();
        for (String name : OPTIONS.keySet()) {
            // --status is ours and only recognised spelled out: to Perl's start_server --sta, --stat and --statu
            // are --status-file, and scripts written for it must keep meaning that. --upgrade replaces the running
            // start_server: spelled out too, never guessed from a prefix.
            if (!given.isEmpty() && name.startsWith(given) && !name.equals("status") && !name.equals("upgrade")) {
                candidates.add(name);
            }
        }
        if (candidates.size() == 1) {
            return candidates.first();
        }
        if (candidates.isEmpty()) {
            throw new UsageException(List.of("Unknown option: " + given));
        }
        throw new UsageException(List.of("Option " + given + " is ambiguous (" + String.join(", ", candidates) + ")"));
    }

    /** Out-of-range numbers saturate instead of failing; Perl would carry them on as floating point. */
    private static long parseInteger(String value) {
        try {
            return Long.parseLong(value.startsWith("+") ? value.substring(1) : value);
        } catch (NumberFormatException e) {
            return value.startsWith("-") ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }
}

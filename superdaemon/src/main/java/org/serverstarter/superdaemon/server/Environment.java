package org.serverstarter.superdaemon.server;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.serverstarter.superdaemon.cli.Options;

/**
 * The environment the superdaemon reads its settings from and hands to workers (Perl's {@code %ENV}).
 *
 * <p>It is the inherited environment, plus the option values start_server exports ({@code ENVDIR},
 * {@code ENABLE_AUTO_RESTART}, {@code KILL_OLD_DELAY}, {@code AUTO_RESTART_INTERVAL}), with the envdir laid over it.
 * The envdir is read again on every loop iteration, so a restart picks up edited files. Unlike Perl, a file deleted
 * from the envdir brings back the inherited value, not the value the file had at start-up
 * (docs/compatibility.md, item 7).
 */
final class Environment {
    private static final Pattern LEADING_INTEGER = Pattern.compile("^\\s*([-+]?\\d+)");

    private final Map<String, String> base;
    private final Envdir envdirFiles = new Envdir();
    private Map<String, String> envdir = Map.of();
    /** Set for every worker over everything else; a null value removes the variable. */
    private final Map<String, String> workerOverrides = new TreeMap<>();

    Environment(Map<String, String> inherited, Options options) {
        base = new LinkedHashMap<>(inherited);
        putIfGiven("ENVDIR", options.envdir());
        if (options.enableAutoRestart()) {
            base.put("ENABLE_AUTO_RESTART", "1");
        }
        putIfGiven("KILL_OLD_DELAY", options.killOldDelay());
        putIfGiven("AUTO_RESTART_INTERVAL", options.autoRestartInterval());
        reloadEnvdir();
    }

    private void putIfGiven(String name, Object value) {
        if (value != null) {
            base.put(name, value.toString());
        }
    }

    /** Reads the envdir named by the current {@code ENVDIR} again. */
    void reloadEnvdir() {
        envdir = Map.of();
        envdir = envdirFiles.load(get("ENVDIR"));
    }

    String get(String name) {
        String value = envdir.get(name);
        return value != null ? value : base.get(name);
    }

    /** Sets a variable for the rest of the process's life, under any envdir value. */
    void setDefault(String name, String value) {
        base.put(name, value);
    }

    /** Perl's truth: set, not empty and not "0". */
    boolean isTrue(String name) {
        String value = get(name);
        return value != null && !value.isEmpty() && !value.equals("0");
    }

    /** Perl's numification: the leading integer of the value, 0 when there is none. */
    long number(String name, long fallback) {
        String value = get(name);
        if (value == null) {
            return fallback;
        }
        Matcher m = LEADING_INTEGER.matcher(value);
        if (!m.find()) {
            return 0;
        }
        try {
            return Long.parseLong(m.group(1).replace("+", ""));
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Sets ({@code value}) or removes ({@code null}) a variable in every worker's environment only. */
    void overrideForWorkers(String name, String value) {
        workerOverrides.put(name, value);
    }

    /** {@code NAME=value} strings for a worker, with the two contract variables set last. */
    List<String> forWorker(String serverStarterPort, long generation) {
        Map<String, String> merged = new TreeMap<>(base);
        merged.putAll(envdir);
        workerOverrides.forEach((name, value) -> {
            if (value == null) {
                merged.remove(name);
            } else {
                merged.put(name, value);
            }
        });
        merged.put("SERVER_STARTER_PORT", serverStarterPort);
        merged.put("SERVER_STARTER_GENERATION", Long.toString(generation));
        List<String> entries = new ArrayList<>(merged.size());
        merged.forEach((k, v) -> entries.add(k + "=" + v));
        return entries;
    }
}

package org.serverstarter.superdaemon.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.serverstarter.superdaemon.server.Fatal;

/**
 * {@code --status --format=text}: the JSON document (docs/status.md) read back and printed for a human. The client
 * renders it, not the server, so that the server has one answer and never needs to read a request.
 */
final class StatusText {
    private StatusText() {
    }

    @SuppressWarnings("unchecked")
    static String render(String json) {
        Map<String, Object> s;
        try {
            s = (Map<String, Object>) new Parser(json).document();
        } catch (RuntimeException e) {
            throw Fatal.of("start_server's status is not the JSON expected: " + e.getMessage());
        }
        StringBuilder out = new StringBuilder();
        Map<String, Object> java = (Map<String, Object>) s.get("java");
        out.append("start_server ").append(s.get("version")).append(" (pid ").append(s.get("pid"))
                .append("), started ").append(s.get("started_at")).append('\n');
        out.append("java:      ").append(java.get("version")).append(" (").append(java.get("vendor")).append(", ")
                .append(java.get("home")).append(")\n");
        out.append("state:     ").append(s.get("state")).append(", generation ").append(s.get("current_generation"))
                .append(" serves\n");
        out.append("listeners: ").append(s.get("server_starter_port")).append('\n');
        out.append("workers:\n");
        for (Object o : (List<Object>) s.get("workers")) {
            Map<String, Object> w = (Map<String, Object>) o;
            out.append(String.format("  generation %-5s pid %-8s %-9s started %s%s%n", w.get("generation"),
                    w.get("pid"), w.get("role"), w.get("started_at"),
                    w.get("signalled_at") == null ? "" : ", signalled " + w.get("signalled_at")));
        }
        Map<String, Object> c = (Map<String, Object>) s.get("counters");
        Map<String, Object> failed = (Map<String, Object>) c.get("failed_starts");
        out.append("restarts:  ").append(c.get("restarts_asked")).append(" asked, ").append(c.get("restarts_done"))
                .append(" done\n");
        out.append("failures:  ").append(failed.get("exited_early")).append(" new workers exited early, ")
                .append(failed.get("timed_out")).append(" timed out, ").append(failed.get("exec_failed"))
                .append(" could not be executed; ").append(c.get("died_unexpectedly"))
                .append(" workers died unexpectedly; ").append(c.get("kills_sent")).append(" KILLs sent\n");
        Map<String, Object> last = (Map<String, Object>) s.get("last_restart");
        out.append("last restart: ");
        if (last == null) {
            out.append("none\n");
        } else {
            out.append(last.get("outcome")).append(" (").append(last.get("trigger")).append(" at ")
                    .append(last.get("asked_at"));
            if (last.get("hup_to_ready_ms") != null) {
                out.append(", generation ").append(last.get("generation")).append(" ready after ")
                        .append(last.get("hup_to_ready_ms")).append(" ms");
            }
            out.append(", ").append(last.get("failed_attempts")).append(" failed attempts)\n");
        }
        Map<String, Object> upgrade = (Map<String, Object>) s.get("last_upgrade");
        if (upgrade != null) {
            out.append("upgraded:  ").append(upgrade.get("outcome")).append(" at ").append(upgrade.get("at"))
                    .append(" (").append(upgrade.get("detail")).append("); this image started ")
                    .append(s.get("image_started_at")).append('\n');
        }
        if (s.get("metrics") != null) {
            out.append("metrics:   http://").append(s.get("metrics")).append("/metrics\n");
        }
        return out.toString();
    }

    /** JSON as maps, lists, strings, longs, doubles, booleans and null; enough for start_server's own document. */
    static final class Parser {
        private final String text;
        private int at;

        Parser(String text) {
            this.text = text;
        }

        Object document() {
            Object value = value();
            space();
            if (at != text.length()) {
                throw error("text after the document");
            }
            return value;
        }

        private Object value() {
            space();
            if (at >= text.length()) {
                throw error("unexpected end");
            }
            char c = text.charAt(at);
            switch (c) {
                case '{':
                    return object();
                case '[':
                    return array();
                case '"':
                    return string();
                default:
                    if (text.startsWith("null", at)) {
                        at += 4;
                        return null;
                    }
                    if (text.startsWith("true", at)) {
                        at += 4;
                        return true;
                    }
                    if (text.startsWith("false", at)) {
                        at += 5;
                        return false;
                    }
                    return number();
            }
        }

        private Map<String, Object> object() {
            Map<String, Object> map = new LinkedHashMap<>();
            at++;
            space();
            if (peek('}')) {
                at++;
                return map;
            }
            while (true) {
                space();
                if (!peek('"')) {
                    throw error("a field name expected");
                }
                String name = string();
                space();
                expect(':');
                map.put(name, value());
                space();
                if (peek(',')) {
                    at++;
                } else {
                    expect('}');
                    return map;
                }
            }
        }

        private List<Object> array() {
            List<Object> list = new ArrayList<>();
            at++;
            space();
            if (peek(']')) {
                at++;
                return list;
            }
            while (true) {
                list.add(value());
                space();
                if (peek(',')) {
                    at++;
                } else {
                    expect(']');
                    return list;
                }
            }
        }

        private String string() {
            StringBuilder out = new StringBuilder();
            at++;
            while (true) {
                if (at >= text.length()) {
                    throw error("unterminated string");
                }
                char c = text.charAt(at++);
                if (c == '"') {
                    return out.toString();
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char e = text.charAt(at++);
                switch (e) {
                    case 'n' -> out.append('\n');
                    case 'r' -> out.append('\r');
                    case 't' -> out.append('\t');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'u' -> {
                        out.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                        at += 4;
                    }
                    default -> out.append(e);
                }
            }
        }

        private Object number() {
            int start = at;
            while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
            String n = text.substring(start, at);
            if (n.isEmpty()) {
                throw error("a value expected");
            }
            return n.matches("-?\\d+") ? (Object) Long.parseLong(n) : (Object) Double.parseDouble(n);
        }

        private void space() {
            while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
                at++;
            }
        }

        private boolean peek(char c) {
            return at < text.length() && text.charAt(at) == c;
        }

        private void expect(char c) {
            if (!peek(c)) {
                throw error("'" + c + "' expected");
            }
            at++;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " at offset " + at);
        }
    }
}

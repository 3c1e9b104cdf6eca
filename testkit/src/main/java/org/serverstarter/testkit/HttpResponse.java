package org.serverstarter.testkit;

import java.util.Locale;
import java.util.Map;

/** One HTTP response as {@link HttpConnection} read it; header names are lower-cased. */
public record HttpResponse(int status, Map<String, String> headers, String body) {
    /** The header's value, or null; {@code name} is matched case-insensitively. */
    public String header(String name) {
        return headers.get(name.toLowerCase(Locale.ROOT));
    }
}

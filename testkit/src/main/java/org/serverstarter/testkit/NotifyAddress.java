package org.serverstarter.testkit;

import java.nio.file.Path;
import java.util.UUID;

/** The form of {@code NOTIFY_SOCKET}'s address, for a {@link NotifyReceiver}. */
public enum NotifyAddress {
    PATH, ABSTRACT;

    /** A fresh address of this form; a path one lies in {@code dir}. */
    public String in(Path dir) {
        return this == PATH ? dir.resolve("notify").toString() : "@serverstarter-" + UUID.randomUUID();
    }

    @Override
    public String toString() {
        return name().toLowerCase();
    }
}

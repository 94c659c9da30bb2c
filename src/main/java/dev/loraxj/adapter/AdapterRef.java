package dev.loraxj.adapter;

import java.util.Objects;

/**
 * Which adapter a request names: its id within a source, and the revision (null for the source's
 * default). The key of everything adapter-related: loads, the store, the scheduler's queues.
 */
public record AdapterRef(String id, String source, String revision) {

    public AdapterRef {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(source, "source");
    }

    public static AdapterRef of(String id, String source) {
        return new AdapterRef(id, source, null);
    }

    @Override
    public String toString() {
        return source + ":" + id + (revision == null ? "" : "@" + revision);
    }
}

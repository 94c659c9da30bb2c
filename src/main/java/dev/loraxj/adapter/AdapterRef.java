package dev.loraxj.adapter;

import java.util.List;
import java.util.Objects;

/**
 * Which adapter a request names: its id within a source, and the revision (null for the source's
 * default).
 */
public record AdapterRef(String id, String source, String revision) implements AdapterKey {

    public AdapterRef {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(source, "source");
    }

    public static AdapterRef of(String id, String source) {
        return new AdapterRef(id, source, null);
    }

    /** The id, with {@code @revision} when one is pinned. */
    @Override
    public String name() {
        return id + (revision == null ? "" : "@" + revision);
    }

    @Override
    public List<AdapterRef> refs() {
        return List.of(this);
    }

    @Override
    public String toString() {
        return source + ":" + id + (revision == null ? "" : "@" + revision);
    }
}

package dev.loraxj.adapter;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The configured adapter sources by name, the default one, and the parsing of adapter names. */
public final class AdapterCatalog {

    private final Map<String, AdapterSource> sources = new LinkedHashMap<>();
    private final String defaultSource;

    public AdapterCatalog(List<AdapterSource> sources, String defaultSource) {
        for (AdapterSource s : sources) {
            this.sources.put(s.name(), s);
        }
        this.defaultSource = defaultSource;
    }

    public Set<String> names() {
        return sources.keySet();
    }

    public String defaultSource() {
        return defaultSource;
    }

    public boolean has(String source) {
        return sources.containsKey(source);
    }

    public AdapterSource source(String name) {
        AdapterSource s = sources.get(name);
        if (s == null) {
            throw new AdapterException("unknown adapter source " + name + " (configured: " + String.join(", ", sources.keySet()) + ")");
        }
        return s;
    }

    /** Parses {@code [source:]id} as the preload list writes adapters; the reference is canonical. */
    public AdapterRef parse(String spec) {
        int colon = spec.indexOf(':');
        if (colon > 0 && sources.containsKey(spec.substring(0, colon))) {
            return canonical(AdapterRef.of(spec.substring(colon + 1), spec.substring(0, colon)));
        }
        return canonical(AdapterRef.of(spec, defaultSource));
    }

    /** The reference its source keys the adapter by (may touch the filesystem: not on an event loop). */
    public AdapterRef canonical(AdapterRef ref) {
        AdapterSource s = sources.get(ref.source());
        return s == null ? ref : s.canonical(ref);
    }
}

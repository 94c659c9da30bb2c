package dev.loraxj.adapter;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The configured adapter sources by name, the default one, and the parsing of adapter names,
 * including the names registered at runtime (vLLM's {@code lora_name}), which stand for an adapter
 * of any source wherever an id of the default source is accepted.
 */
public final class AdapterCatalog {

    private final Map<String, AdapterSource> sources = new LinkedHashMap<>();
    private final String defaultSource;
    private final Map<String, AdapterRef> registered = new java.util.concurrent.ConcurrentHashMap<>();

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

    /**
     * The reference its source keys the adapter by (may touch the filesystem: not on an event loop); a
     * registered name, given as an id of the default source, is the adapter it was registered for.
     */
    public AdapterRef canonical(AdapterRef ref) {
        if (ref.revision() == null && ref.source().equals(defaultSource)) {
            AdapterRef named = registered.get(ref.id());
            if (named != null) {
                return named;
            }
        }
        AdapterSource s = sources.get(ref.source());
        return s == null ? ref : s.canonical(ref);
    }

    /**
     * Parses {@code [source:]id} strictly, for paths a client sends: a leading {@code word:} must be a
     * configured source (an {@code s3://} URL belongs to the s3 source), else this throws naming them.
     */
    public AdapterRef parseStrict(String spec) {
        int colon = spec.indexOf(':');
        if (colon > 0 && spec.substring(0, colon).matches("[A-Za-z][A-Za-z0-9_-]*")) {
            String source = spec.substring(0, colon);
            String rest = spec.substring(colon + 1);
            if (rest.startsWith("//")) { // a URL: its scheme names the source, and the source takes the whole URL
                return canonical(AdapterRef.of(spec, source(source).name()));
            }
            return canonical(AdapterRef.of(rest, source(source).name()));
        }
        return canonical(AdapterRef.of(spec, defaultSource));
    }

    /** Makes {@code name} stand for {@code ref} (a canonical reference) in requests. */
    public void name(String name, AdapterRef ref) {
        registered.put(name, ref);
    }

    /** Forgets {@code name}, if it still stands for {@code ref}. */
    public void unname(String name, AdapterRef ref) {
        registered.remove(name, ref);
    }

    /** The registered names, each with the adapter it stands for. */
    public Map<String, AdapterRef> registeredNames() {
        return Map.copyOf(registered);
    }
}

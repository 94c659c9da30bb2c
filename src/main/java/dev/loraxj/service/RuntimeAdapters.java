package dev.loraxj.service;

import dev.loraxj.adapter.AdapterCatalog;
import dev.loraxj.adapter.AdapterException;
import dev.loraxj.adapter.AdapterNotFoundException;
import dev.loraxj.adapter.AdapterRef;
import dev.loraxj.adapter.AdapterStore;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Adapters registered at runtime under a name, as vLLM's {@code /v1/load_lora_adapter} does: the
 * name then stands for the adapter in requests ({@code model}), and the adapter stays pinned in
 * memory until the name is unloaded. Names are checked and taken under this object's lock; loads
 * run on the adapter store's loaders.
 */
public final class RuntimeAdapters {

    private static final Logger LOG = Logger.getLogger(RuntimeAdapters.class);

    /** One registration: the name clients send, the path as given, and the adapter it resolved to. */
    public record Registration(String name, String path, AdapterRef ref) {
    }

    private final AdapterCatalog catalog;
    private final AdapterStore store;
    private final ServedModel baseModel;
    private final Map<String, Registration> registered = new LinkedHashMap<>();
    private final Set<String> loading = new HashSet<>();

    public RuntimeAdapters(AdapterCatalog catalog, AdapterStore store, ServedModel baseModel) {
        this.catalog = catalog;
        this.store = store;
        this.baseModel = baseModel;
    }

    /**
     * Registers {@code name} for the adapter at {@code path} ({@code [source:]id}) and pins it; the
     * future completes once the adapter is loaded, or fails (and registers nothing). Blocking in the
     * path's parsing (a local path is resolved): call it off the event loop.
     *
     * @throws ValidationException       for a missing, malformed or taken name, or an unknown source
     */
    public CompletableFuture<Registration> load(String name, String path) {
        if (name == null || name.isEmpty() || path == null || path.isEmpty()) {
            throw new ValidationException("Both 'lora_name' and 'lora_path' must be provided.");
        }
        checkName(name);
        AdapterRef ref;
        try {
            ref = catalog.parseStrict(path);
        } catch (AdapterException e) {
            throw new ValidationException("'lora_path' " + e.getMessage());
        }
        synchronized (this) {
            if (registered.containsKey(name) || loading.contains(name)) {
                throw new ValidationException("The lora adapter '" + name + "' has already been loaded.");
            }
            loading.add(name);
        }
        CompletableFuture<Registration> done = new CompletableFuture<>();
        store.pin(ref).adapter().whenComplete((adapter, failure) -> {
            Registration r = new Registration(name, path, ref);
            synchronized (this) {
                loading.remove(name);
                if (failure == null) {
                    registered.put(name, r);
                    catalog.name(name, ref);
                }
            }
            if (failure != null) {
                store.unpin(ref);
                done.completeExceptionally(failure);
            } else {
                LOG.infof("loaded LoRA adapter %s as %s", ref, name);
                done.complete(r);
            }
        });
        return done;
    }

    /**
     * Forgets {@code name} and unpins its adapter (requests running with it finish; it is evicted
     * when idle and the room is needed).
     *
     * @throws ValidationException       when no name is given
     * @throws AdapterNotFoundException  when the name is not registered
     */
    public Registration unload(String name) {
        if (name == null || name.isEmpty()) {
            throw new ValidationException("'lora_name' needs to be provided to unload a LoRA adapter.");
        }
        Registration r;
        synchronized (this) {
            r = registered.remove(name);
            if (r == null) {
                throw new AdapterNotFoundException("The lora adapter '" + name + "' cannot be found.");
            }
            catalog.unname(name, r.ref());
        }
        store.unpin(r.ref());
        LOG.infof("unloaded LoRA adapter %s (%s); it stays until evicted", name, r.ref());
        return r;
    }

    /** The registrations, in the order they were made. */
    public synchronized List<Registration> list() {
        return new ArrayList<>(registered.values());
    }

    /** A name must be one a client can send as {@code model} and a router can read back from a comma-separated list. */
    private void checkName(String name) {
        if (name.length() > 1024 || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new ValidationException("'lora_name' must be at most 1024 characters without control characters");
        }
        if (name.indexOf(',') >= 0 || !name.strip().equals(name)) {
            throw new ValidationException("'lora_name' must not contain commas or surrounding spaces: "
                    + "vllm:lora_requests_info lists adapters comma-separated");
        }
        if (baseModel.names(name) || name.equals("__base_model__")) {
            throw new ValidationException("'lora_name' " + name + " names the base model");
        }
    }
}

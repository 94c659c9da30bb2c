package dev.loraxj.service;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.adapter.AdapterStore;
import dev.loraxj.adapter.ApiToken;
import dev.loraxj.adapter.LoadedAdapter;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * A request's hold on its adapter: once the caller's access is checked (every adapter of a merge),
 * a lease on it, loading it if needed. Held while the request is queued or running, and released
 * exactly once when it ends, also when it ends before the check answered.
 */
public final class AdapterHold {

    /** The base model's: nothing to check or hold. */
    static final AdapterHold NONE = new AdapterHold(null, null, null, CompletableFuture.completedFuture(null));

    private final AdapterStore store;
    private final AdapterKey key;
    private final ApiToken token;
    private final CompletableFuture<Void> access;
    private final CompletableFuture<LoadedAdapter> adapter;
    private final RequestTrace trace;
    private AdapterStore.Lease lease;
    private boolean released;

    AdapterHold(AdapterStore store, AdapterKey key, ApiToken token, CompletableFuture<Void> access) {
        this(store, key, token, access, RequestTrace.OFF);
    }

    /** As above, reporting the access check and the load to {@code trace}. */
    AdapterHold(AdapterStore store, AdapterKey key, ApiToken token, CompletableFuture<Void> access, RequestTrace trace) {
        this.store = store;
        this.key = key;
        this.token = token;
        this.access = access;
        this.trace = trace;
        this.adapter = access.thenCompose(v -> lease());
        if (trace.on() && key != null) {
            long asked = System.nanoTime();
            long[] checked = {asked};
            access.whenComplete((v, e) -> trace.accessChecked(asked, checked[0] = System.nanoTime(), e));
            adapter.whenComplete((a, e) -> {
                if (!access.isCompletedExceptionally()) {
                    trace.adapterLoaded(key, checked[0], System.nanoTime(), e);
                }
            });
        }
    }

    /** The adapter or merge held; null for the base model. */
    public AdapterKey key() {
        return key;
    }

    /**
     * Completes with the loaded adapter (null for the base model); fails when the caller may not
     * use it (before anything of it is loaded or read) or it cannot be loaded.
     */
    public CompletableFuture<LoadedAdapter> adapter() {
        return adapter;
    }

    /**
     * Another hold on the same adapter for the same caller, on this one's access check (one request's
     * several sequences); released on its own.
     */
    AdapterHold share() {
        return key == null ? NONE : new AdapterHold(store, key, token, access, trace);
    }

    public synchronized void release() {
        released = true;
        if (lease != null) {
            lease.release();
        }
    }

    private synchronized CompletableFuture<LoadedAdapter> lease() {
        if (key == null) {
            return CompletableFuture.completedFuture(null);
        }
        if (released) {
            return CompletableFuture.failedFuture(new CancellationException("request ended"));
        }
        lease = store.acquire(key, token);
        return lease.adapter();
    }
}

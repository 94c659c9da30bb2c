package dev.loraxj.adapter;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * Checks, per request, that the caller's token may use an adapter, keyed by (adapter, token). A
 * result (allowed or refused) is reused for {@code ttl}; concurrent checks of the same key share
 * one call. Failures that say nothing about access (the source is down) are not kept. Keys hold the
 * token's SHA-256, never the token.
 */
public final class AdapterAccess {

    private record Key(AdapterRef ref, String tokenDigest) {
    }

    private record Entry(CompletableFuture<Void> result, long expiresAt) {
    }

    private final AdapterCatalog catalog;
    private final long ttlNanos;
    private final Executor checkers;
    private final Map<Key, Entry> cache = new ConcurrentHashMap<>();
    private final Counter checks;
    private final Counter refusals;

    public AdapterAccess(AdapterCatalog catalog, Duration ttl, Executor checkers, MeterRegistry registry) {
        this.catalog = catalog;
        this.ttlNanos = ttl.toNanos();
        this.checkers = checkers;
        this.checks = Counter.builder("loraxj_adapter_access_checks").description("Access checks sent to adapter sources").register(registry);
        this.refusals = Counter.builder("loraxj_adapter_access_refusals").description("Access checks that refused the caller").register(registry);
    }

    /**
     * Completes when the caller may use {@code key}: the adapter, or every adapter of a merge; fails
     * with {@link AdapterAccessException} when not.
     */
    public CompletableFuture<Void> check(AdapterKey key, ApiToken token) {
        return switch (key) {
            case AdapterRef ref -> checkOne(ref, token);
            case MergeSpec merge -> CompletableFuture.allOf(merge.adapters().stream().map(r -> checkOne(r, token))
                    .toArray(CompletableFuture[]::new));
        };
    }

    private CompletableFuture<Void> checkOne(AdapterRef ref, ApiToken token) {
        AdapterSource source = catalog.source(ref.source());
        if (!source.checksCallers()) {
            return CompletableFuture.completedFuture(null);
        }
        Key key = new Key(ref, token == null ? "" : token.digest());
        long now = System.nanoTime();
        Entry e = cache.compute(key, (k, old) -> {
            if (old != null && (!old.result().isDone() || now - old.expiresAt() < 0)) {
                return old;
            }
            return new Entry(run(source, ref, token), now + ttlNanos);
        });
        return e.result().whenComplete((v, t) -> {
            if (t != null && !(unwrap(t) instanceof AdapterAccessException)) {
                cache.remove(key, e); // the source failed: ask again next time
            }
        });
    }

    private CompletableFuture<Void> run(AdapterSource source, AdapterRef ref, ApiToken token) {
        return CompletableFuture.runAsync(() -> {
            checks.increment();
            try {
                source.authorize(ref, token);
            } catch (AdapterAccessException e) {
                refusals.increment();
                throw e;
            }
        }, checkers);
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
    }
}

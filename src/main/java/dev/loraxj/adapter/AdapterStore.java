package dev.loraxj.adapter;

import dev.loraxj.backend.AdapterFootprint;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * Adapters in memory within a byte budget per tier (what the backend holds on its device, and in
 * host memory). A load runs once per key however many requests want it;
 * every request holds a lease while queued or running, and only adapters nobody leases (and nobody
 * pinned) are evicted, least recently used first. A load that does not fit waits for leases to end.
 */
public final class AdapterStore {

    private static final Logger LOG = Logger.getLogger(AdapterStore.class);

    /** What {@link #list()} reports of one adapter. */
    public record Info(AdapterKey key, String state, long bytes, int leases, boolean pinned, String description) {
    }

    private enum State { FETCHING, WAITING_FOR_MEMORY, LOADING, READY }

    private final class Entry {
        final AdapterKey ref; // an adapter or a merge
        ApiToken token; // of the request that started the load; dropped once loaded
        final CompletableFuture<LoadedAdapter> future = new CompletableFuture<>();
        State state = State.FETCHING;
        PendingAdapter pending;
        LoadedAdapter adapter;
        AdapterFootprint footprint = AdapterFootprint.NONE;
        int leases;
        boolean pinned;
        long lastUsed;

        Entry(AdapterKey ref) {
            this.ref = ref;
        }
    }

    private static final class Pin {
        Lease lease;
        int holders = 1;

        Pin(Lease lease) {
            this.lease = lease;
        }
    }

    /** A request's hold on an adapter; release exactly once when the request ends. */
    public final class Lease {
        private final Entry entry;
        private boolean released;

        private Lease(Entry entry) {
            this.entry = entry;
        }

        public CompletableFuture<LoadedAdapter> adapter() {
            return entry.future;
        }

        public AdapterKey key() {
            return entry.ref;
        }

        public void release() {
            synchronized (AdapterStore.this) {
                if (released) {
                    return;
                }
                released = true;
                entry.leases--;
                entry.lastUsed = System.nanoTime();
                startWaitingLoads();
            }
        }
    }

    private final BiFunction<AdapterKey, ApiToken, PendingAdapter> prepare;
    private final AdapterFootprint budget;
    private final Executor loaders;
    private final Map<AdapterKey, Entry> entries = new HashMap<>();
    private final Map<AdapterKey, Pin> pins = new HashMap<>();
    private final List<Entry> waitingForMemory = new ArrayList<>();
    private AdapterFootprint held = AdapterFootprint.NONE;
    private long peak;
    private final Counter loads;
    private final Counter evictions;
    private final Counter failures;
    private final Timer loadTime;

    /**
     * @param prepare fetches and checks an adapter with the token of the request that needs it
     *                first (blocking, on a loader thread)
     * @param budget  bytes of adapter weights held at most, in each tier alike
     */
    public AdapterStore(BiFunction<AdapterKey, ApiToken, PendingAdapter> prepare, long budget, Executor loaders, MeterRegistry registry) {
        this(prepare, new AdapterFootprint(budget, budget), loaders, registry);
    }

    /** As above, with a budget per tier: the backend's device, and host memory. */
    public AdapterStore(BiFunction<AdapterKey, ApiToken, PendingAdapter> prepare, AdapterFootprint budget, Executor loaders,
                        MeterRegistry registry) {
        this.prepare = prepare;
        this.budget = budget;
        this.loaders = loaders;
        Gauge.builder("loraxj_adapters_loaded", this, s -> s.count(State.READY)).description("Adapters in memory").register(registry);
        Gauge.builder("loraxj_adapter_bytes", this, AdapterStore::heldBytes).description("Bytes of adapter weights held or reserved").register(registry);
        Gauge.builder("loraxj_adapter_bytes_peak", this, AdapterStore::peakBytes).description("Most bytes ever held or reserved").register(registry);
        Gauge.builder("loraxj_adapter_budget_bytes", budget::device).description("loraxj.adapters.memory-budget").register(registry);
        for (String tier : new String[] {"device", "host"}) {
            boolean device = tier.equals("device");
            Gauge.builder("loraxj_adapter_tier_bytes", this, st -> st.held(device)).tag("tier", tier)
                    .description("Bytes of adapter weights held or reserved in one tier").register(registry);
            Gauge.builder("loraxj_adapter_tier_budget_bytes", () -> device ? budget.device() : budget.host()).tag("tier", tier)
                    .description("The adapter budget of one tier").register(registry);
        }
        loads = Counter.builder("loraxj_adapter_loads").description("Adapters loaded into memory").register(registry);
        evictions = Counter.builder("loraxj_adapter_evictions").description("Adapters evicted to make room").register(registry);
        failures = Counter.builder("loraxj_adapter_load_failures").description("Adapter loads that failed").register(registry);
        loadTime = Timer.builder("loraxj_adapter_load_duration").description("From first request to adapter ready")
                .publishPercentileHistogram().register(registry);
    }

    /** Takes a lease on {@code key}, starting its load if nobody has. */
    public synchronized Lease acquire(AdapterKey key) {
        return acquire(key, null);
    }

    /**
     * Takes a lease on {@code key}, starting its load (downloading with {@code token}, the caller's,
     * whose access was checked) if nobody has.
     */
    public synchronized Lease acquire(AdapterKey key, ApiToken token) {
        Entry e = entries.get(key);
        if (e == null) {
            e = new Entry(key);
            e.token = token;
            entries.put(key, e);
            Entry started = e;
            long t0 = System.nanoTime();
            e.future.whenComplete((a, t) -> {
                if (t == null) {
                    loadTime.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
                }
            });
            loaders.execute(() -> fetch(started));
        }
        e.leases++;
        e.lastUsed = System.nanoTime();
        return new Lease(e);
    }

    /**
     * Keeps {@code key} loaded until unpinned. Pins are counted per holder (the preload list, a runtime
     * registration): the adapter stays pinned until each holder has unpinned it once.
     */
    public synchronized Lease pin(AdapterKey key) {
        Pin p = pins.get(key);
        if (p != null && entries.get(key) == p.lease.entry) {
            p.holders++;
            return p.lease;
        }
        Lease lease = acquire(key);
        lease.entry.pinned = true;
        if (p == null) {
            pins.put(key, new Pin(lease));
        } else { // its earlier load failed: the holders that pinned it then now pin the new load
            p.lease.release();
            p.lease = lease;
            p.holders++;
        }
        return lease;
    }

    /** Drops one holder's pin; once none is left, {@code key} may be evicted when no request uses it. */
    public synchronized void unpin(AdapterKey key) {
        Pin p = pins.get(key);
        if (p == null || --p.holders > 0) {
            return;
        }
        pins.remove(key);
        p.lease.entry.pinned = false;
        p.lease.release();
    }

    /** Adapters whose weights are held or being loaded (their footprint counts against the budget). */
    public synchronized int heldCount() {
        int n = 0;
        for (Entry e : entries.values()) {
            if (e.state == State.LOADING || e.state == State.READY) {
                n++;
            }
        }
        return n;
    }

    public synchronized List<Info> list() {
        List<Info> out = new ArrayList<>();
        for (Entry e : entries.values()) {
            out.add(new Info(e.ref, e.state.name().toLowerCase(java.util.Locale.ROOT), e.footprint.total(), e.leases, e.pinned,
                    e.adapter == null ? "" : e.adapter.description()));
        }
        out.sort(java.util.Comparator.comparing(i -> i.key().toString()));
        return out;
    }

    /** Bytes held or reserved, both tiers together. */
    public synchronized long heldBytes() {
        return held.total();
    }

    /** Bytes held or reserved per tier. */
    public synchronized AdapterFootprint held() {
        return held;
    }

    private synchronized long held(boolean device) {
        return device ? held.device() : held.host();
    }

    public synchronized long peakBytes() {
        return peak;
    }

    /** The budget per tier: loraxj.adapters.memory-budget for the device, host-memory-budget for the host. */
    public AdapterFootprint budgets() {
        return budget;
    }

    private synchronized int count(State s) {
        int n = 0;
        for (Entry e : entries.values()) {
            if (e.state == s) {
                n++;
            }
        }
        return n;
    }

    private void fetch(Entry e) {
        PendingAdapter pending;
        try {
            pending = prepare.apply(e.ref, e.token);
        } catch (Throwable t) {
            fail(e, t);
            return;
        }
        synchronized (this) {
            e.pending = pending;
            e.token = null;
            e.footprint = pending.footprint();
            if (!e.footprint.fitsIn(budget)) {
                boolean device = e.footprint.device() > budget.device();
                failLocked(e, new AdapterException("adapter " + e.ref.name() + " needs " + (device ? e.footprint.device() : e.footprint.host())
                        + " bytes, more than the whole adapter memory budget (" + (device ? "loraxj.adapters.memory-budget = " + budget.device()
                        : "loraxj.adapters.host-memory-budget = " + budget.host()) + ")"));
                return;
            }
            e.state = State.WAITING_FOR_MEMORY;
            waitingForMemory.add(e);
            startWaitingLoads();
        }
    }

    /** Starts every waiting load that fits, evicting idle adapters as needed, in arrival order. */
    private void startWaitingLoads() {
        while (!waitingForMemory.isEmpty()) {
            Entry next = waitingForMemory.getFirst();
            if (!makeRoom(next.footprint)) {
                return;
            }
            waitingForMemory.removeFirst();
            held = held.plus(next.footprint);
            peak = Math.max(peak, held.total());
            next.state = State.LOADING;
            loaders.execute(() -> materialize(next));
        }
    }

    /** Evicts least recently used idle adapters until {@code more} fits; false if it cannot. */
    private boolean makeRoom(AdapterFootprint more) {
        while (!held.plus(more).fitsIn(budget)) {
            Entry victim = null;
            for (Entry e : entries.values()) {
                if (e.state == State.READY && e.leases == 0 && !e.pinned && (victim == null || e.lastUsed < victim.lastUsed)) {
                    victim = e;
                }
            }
            if (victim == null) {
                return false;
            }
            entries.remove(victim.ref);
            held = held.minus(victim.footprint);
            victim.adapter.release(); // the backend frees it once no batch uses it
            evictions.increment();
            LOG.debugf("evicted adapter %s (%d bytes)", victim.ref, victim.footprint.total());
        }
        return true;
    }

    private void materialize(Entry e) {
        LoadedAdapter a;
        try {
            a = e.pending.materialize();
        } catch (Throwable t) {
            fail(e, t);
            return;
        }
        if (!a.footprint().equals(e.footprint)) { // the budget holds only if the backend takes what it said it would
            a.release();
            fail(e, new IllegalStateException("the backend holds " + a.footprint() + " for adapter " + e.ref.name()
                    + " but reserved " + e.footprint));
            return;
        }
        synchronized (this) {
            e.adapter = a;
            e.pending = null;
            e.state = State.READY;
            loads.increment();
        }
        e.future.complete(a);
    }

    private synchronized void fail(Entry e, Throwable t) {
        failLocked(e, t);
    }

    private void failLocked(Entry e, Throwable t) {
        if (e.state == State.LOADING) {
            held = held.minus(e.footprint);
        }
        waitingForMemory.remove(e);
        entries.remove(e.ref, e);
        failures.increment();
        AdapterException error = t instanceof AdapterException ae ? ae
                : new AdapterException("adapter " + e.ref.name() + " failed to load: " + t.getMessage(), t);
        LOG.warnf("adapter %s failed to load: %s", e.ref, error.getMessage());
        e.future.completeExceptionally(error);
        startWaitingLoads();
    }
}

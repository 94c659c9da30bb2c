package dev.loraxj.engine;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.backend.StepBatch;
import dev.loraxj.backend.AdapterSlot;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Decides what runs each step, with LoRAX's semantics: one queue per adapter; at most
 * {@code maxActiveAdapters} adapters active at once; among active adapters the oldest request whose
 * gate (adapter load, access check) has opened joins first, when the blocks of its prompt (plus a
 * watermark) are free (first come, first served: nothing overtakes a request that waits for blocks).
 * Blocks are taken as sequences grow; when none are left the newest running sequence is preempted
 * and later recomputed. Once an adapter has been active
 * for {@code cycleNanos} while others wait, it takes no new requests and leaves the active set when
 * its running ones finish, so no adapter starves. Each step every running sequence decodes, and
 * prefill chunks share {@code maxPrefillTokens}. Engine thread only.
 */
final class Scheduler {

    static final Object BASE = new Object() {
        @Override
        public String toString() {
            return "base model";
        }
    };

    private final KvBlockPool pool;
    private final int maxPrefillTokens;
    private final int maxLogitRows;
    private final int maxActive;
    private final long cycleNanos;
    private final dev.loraxj.backend.MedusaHeads defaultMedusa;
    private final int speculativeTokens;
    private final int speculativeMaxBatch;
    private boolean speculating;
    private final Map<Object, AdapterQueue> queues = new HashMap<>();
    private final List<AdapterQueue> active = new ArrayList<>();
    private final ArrayDeque<AdapterQueue> pending = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final List<Sequence> byAge = new ArrayList<>(); // the running ones in admission order
    private final List<Sequence> growing = new ArrayList<>();
    private final int watermark;
    private boolean reserveWorstCase;
    private long preemptions;
    private long prefixQueries;
    private long prefixHits;
    private long prefixHitTokens;
    private int waitingCount;

    private final List<StepPlan.Run> runs = new ArrayList<>(); // this step's runs, until the plan copies them

    /**
     * @param maxLogitRows cap on rows of logits one sequence asks for in a step (prefill details
     *                     need a row per prompt token; this bounds the logits buffer)
     */
    Scheduler(KvBlockPool pool, int maxPrefillTokens, int maxLogitRows, int maxActiveAdapters, long cycleNanos) {
        this(pool, maxPrefillTokens, maxLogitRows, maxActiveAdapters, cycleNanos, null, 0, 0);
    }

    /**
     * @param defaultMedusa       heads for sequences whose adapter has none (null: none)
     * @param speculativeTokens   candidates per step for sequences with heads
     * @param speculativeMaxBatch speculation is skipped in steps with more decoding sequences than this
     */
    Scheduler(KvBlockPool pool, int maxPrefillTokens, int maxLogitRows, int maxActiveAdapters, long cycleNanos,
              dev.loraxj.backend.MedusaHeads defaultMedusa, int speculativeTokens, int speculativeMaxBatch) {
        this.defaultMedusa = defaultMedusa;
        this.speculativeTokens = speculativeTokens;
        this.speculativeMaxBatch = speculativeMaxBatch;
        this.pool = pool;
        this.maxPrefillTokens = maxPrefillTokens;
        this.maxLogitRows = Math.max(1, maxLogitRows);
        this.maxActive = Math.max(1, maxActiveAdapters);
        this.cycleNanos = cycleNanos;
        this.watermark = Math.max(1, pool.numBlocks() / 100); // vLLM's 1%
    }

    /** The rule before KV on demand, for the bench's comparison: each sequence's worst case is reserved at admission. */
    Scheduler reservingWorstCase(boolean on) {
        this.reserveWorstCase = on;
        return this;
    }

    void enqueue(Sequence seq) {
        AdapterQueue q = queues.computeIfAbsent(seq.adapterKey() == null ? BASE : seq.adapterKey(), AdapterQueue::new);
        q.waiting.addLast(seq);
        waitingCount++;
        if (!q.active && !q.pending) {
            q.pending = true;
            pending.addLast(q);
        }
    }

    boolean idle() {
        return waitingCount == 0 && running.isEmpty();
    }

    int waitingCount() {
        return waitingCount;
    }

    int runningCount() {
        return running.size();
    }

    int activeAdapters() {
        return active.size();
    }

    /**
     * The adapters running and waiting now: {@code previous} itself when they are the same sets (the
     * common case, checked without allocating), else new sets.
     */
    AdapterActivity activity(AdapterActivity previous) {
        int running = 0;
        int waiting = 0;
        boolean same = true;
        for (AdapterQueue q : queues.values()) {
            if (!(q.key instanceof AdapterKey key)) {
                continue; // the base model
            }
            if (q.running > 0) {
                running++;
                same &= previous.running().contains(key);
            }
            if (!q.waiting.isEmpty()) {
                waiting++;
                same &= previous.waiting().contains(key);
            }
        }
        if (same && running == previous.running().size() && waiting == previous.waiting().size()) {
            return previous;
        }
        java.util.Set<AdapterKey> r = new java.util.HashSet<>();
        java.util.Set<AdapterKey> w = new java.util.HashSet<>();
        for (AdapterQueue q : queues.values()) {
            if (q.key instanceof AdapterKey key) {
                if (q.running > 0) {
                    r.add(key);
                }
                if (!q.waiting.isEmpty()) {
                    w.add(key);
                }
            }
        }
        return new AdapterActivity(r, w, previous.publishedMillis());
    }

    /**
     * Removes cancelled sequences (waiting or running, freeing their blocks at once) and those whose
     * gate failed (handing each to {@code failed}); returns how many were cancelled.
     */
    int dropCancelledAndFailed(Consumer<Sequence> failed) {
        int cancelled = 0;
        for (AdapterQueue q : queues.values()) {
            for (Iterator<Sequence> it = q.waiting.iterator(); it.hasNext(); ) {
                Sequence s = it.next();
                if (s.cancelled() || s.gateFailed()) {
                    it.remove();
                    waitingCount--;
                    if (s.cancelled()) {
                        cancelled++;
                    } else {
                        failed.accept(s);
                    }
                }
            }
        }
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.cancelled()) {
                pool.free(s.blocks());
                queueOf(s).running--;
                it.remove();
                byAge.remove(s);
                cancelled++;
            }
        }
        return cancelled;
    }

    /** Takes a sequence out of the batch and frees its blocks. */
    void retire(Sequence seq) {
        pool.free(seq.blocks());
        queueOf(seq).running--;
        running.remove(seq);
        byAge.remove(seq);
    }

    /** Drops everything (engine failure or shutdown); returns what was dropped. */
    List<Sequence> drain() {
        List<Sequence> all = new ArrayList<>(running);
        running.forEach(s -> pool.free(s.blocks()));
        running.clear();
        byAge.clear();
        for (AdapterQueue q : queues.values()) {
            all.addAll(q.waiting);
        }
        queues.clear();
        active.clear();
        pending.clear();
        waitingCount = 0;
        return all;
    }

    /**
     * Rotates the active set, gives running sequences the KV blocks this step writes (preempting
     * the newest when the pool runs dry), admits what fits, and fills {@code batch} with this step's tokens.
     * Returns the runs in the batch, in its order.
     */
    StepPlan schedule(StepBatch batch, long now) {
        batch.clear();
        runs.clear();
        rotate(now);
        speculating = running.size() <= speculativeMaxBatch;
        boolean preemptedAny = grow();
        // each run is decided (the running first, then each admitted one) before the batch is filled in running
        // order, so each adapter's rows form one segment
        int budget = maxPrefillTokens;
        for (Sequence s : running) {
            budget -= decideAndShare(s, budget);
        }
        // after a preemption nothing new joins: the pool is short, and the preempted go first next time
        while (budget > 0 && !preemptedAny) {
            Sequence next = oldestAdmissible(now);
            if (next == null) {
                break;
            }
            next.resolve(defaultMedusa, speculativeTokens);
            next.adapterSerial(serial(next.lora()));
            // prompt logprobs need logits at every position, so such a request computes its whole prompt
            KvBlockPool.PrefixHit hit = next.request().prefillDetails() ? KvBlockPool.PrefixHit.NONE
                    : pool.lookup(next.tokens(), next.length(), next.adapterSerial(), next.request().cacheSalt());
            // its prompt (or, resumed, every token it has) less what the cache holds, plus a watermark for running sequences to grow into
            int slots = reserveWorstCase ? next.tokens().length - 1 + next.speculate() : next.length();
            int blocks = pool.blocksFor(slots) - hit.blocks().length + hit.evictable();
            if (!pool.canAllocate(blocks + (running.isEmpty() ? 0 : watermark))) {
                break; // first come, first served: the oldest waits for blocks; nothing overtakes it
            }
            AdapterQueue q = queueOf(next);
            q.waiting.remove(next);
            waitingCount--;
            q.running++;
            pool.share(next.blocks(), hit, next.chain());
            pool.allocate(next.blocks(), slots);
            next.markCached(hit.tokens(pool.blockSize()));
            next.prefixHit(hit.tokens(pool.blockSize()));
            prefixQueries++;
            if (hit.blocks().length > 0) {
                prefixHits++;
                prefixHitTokens += hit.tokens(pool.blockSize());
            }
            next.started(now);
            insertGrouped(next);
            byAge.add(next);
            budget -= decideAndShare(next, budget);
        }
        for (Sequence s : running) {
            fill(batch, s);
        }
        return new StepPlan(runs, speculating);
    }

    /**
     * Decides the sequence's run and registers the blocks that run fills, before the step computes
     * them: a sequence admitted later in this step can share them already, because each layer
     * writes every token's K and V before any token attends. Only what is certain is registered:
     * not speculative candidates (they may be rolled back), not a run shorter than a block.
     */
    private int decideAndShare(Sequence s, int budget) {
        int used = decide(s, budget);
        if (s.scheduledRun() > 0 && !s.request().prefillDetails()) {
            register(s, s.cached() + (s.verifying() ? 1 : s.scheduledRun()));
        }
        return used;
    }

    /**
     * KV on demand: each decoding sequence gets a block when it crosses a block boundary. When the
     * pool is dry, the most recently admitted sequence is preempted (its blocks freed, itself put
     * back at the head of its queue) until the older ones fit. Returns whether any was preempted.
     */
    private boolean grow() {
        boolean any = false;
        growing.clear();
        growing.addAll(byAge); // oldest first
        for (Sequence s : growing) {
            if (s.blocks().size() == 0) {
                continue; // preempted earlier in this loop (a running sequence holds at least one block)
            }
            int slots = s.prefilling() ? s.length() : s.cached() + 1;
            if (!s.prefilling() && speculating && s.draftLen() > 0) {
                int withDraft = s.cached() + 1 + s.draftLen(); // candidates only where they fit: nothing is preempted for them
                if (pool.canAllocate(pool.blocksFor(withDraft) - s.blocks().size())) {
                    slots = withDraft;
                }
            }
            int need = pool.blocksFor(slots) - s.blocks().size();
            boolean self = false;
            while (need > 0 && !pool.canAllocate(need)) {
                Sequence victim = byAge.getLast();
                preempt(victim);
                any = true;
                if (victim == s) {
                    self = true;
                    break;
                }
            }
            if (!self && need > 0) {
                pool.allocate(s.blocks(), slots);
            }
        }
        growing.clear();
        return any;
    }

    /** Frees the sequence's blocks and puts it back at the head of its queue, to be recomputed when admitted again. */
    private void preempt(Sequence s) {
        pool.free(s.blocks());
        s.preempted();
        running.remove(s);
        byAge.remove(s);
        AdapterQueue q = queueOf(s);
        q.running--;
        q.waiting.addFirst(s);
        waitingCount++;
        preemptions++;
    }

    /** Sequences preempted since the start. */
    long preemptions() {
        return preemptions;
    }

    /** Registers the blocks the last step filled with computed KV, so later requests can share them. */
    void computed(Sequence s) {
        register(s, s.cached());
    }

    /** Registers the sequence's full blocks among its first {@code tokens} positions in the prefix cache. */
    private void register(Sequence s, int tokens) {
        pool.register(s.blocks(), tokens / pool.blockSize(), s.chain(), s.tokens(), s.adapterSerial(), s.request().cacheSalt());
    }

    /**
     * The prefix cache's name for a loaded adapter: its slot's serial, unique per registration, so a
     * merge (its own slot per spec) or a reloaded adapter never meets KV computed under another.
     */
    private static long serial(AdapterSlot lora) {
        return lora == null ? 0 : lora.serial();
    }

    long prefixQueries() {
        return prefixQueries;
    }

    long prefixHits() {
        return prefixHits;
    }

    long prefixHitTokens() {
        return prefixHitTokens;
    }

    /** Deactivates idle adapters, and drained ones past their cycle time, then activates pending ones. */
    private void rotate(long now) {
        boolean others = readyPending();
        for (Iterator<AdapterQueue> it = active.iterator(); it.hasNext(); ) {
            AdapterQueue q = it.next();
            boolean expired = others && now - q.activatedAt >= cycleNanos && q.running == 0;
            if (q.idle() || expired) {
                it.remove();
                q.active = false;
                if (q.waiting.isEmpty()) {
                    queues.remove(q.key);
                } else {
                    q.pending = true;
                    pending.addLast(q);
                }
            }
        }
        for (Iterator<AdapterQueue> it = pending.iterator(); it.hasNext() && active.size() < maxActive; ) {
            AdapterQueue q = it.next();
            if (q.waiting.isEmpty()) {
                it.remove();
                q.pending = false;
                queues.remove(q.key);
            } else if (q.firstReady() != null) { // an adapter still loading does not take a slot
                it.remove();
                q.pending = false;
                q.active = true;
                q.activatedAt = now;
                active.add(q);
            }
        }
    }

    /** The oldest ready sequence of an active adapter that still takes requests. */
    private Sequence oldestAdmissible(long now) {
        boolean others = readyPending();
        Sequence best = null;
        for (AdapterQueue q : active) {
            if (others && now - q.activatedAt >= cycleNanos) {
                continue; // draining: let its running sequences finish, then rotate it out
            }
            Sequence s = q.firstReady();
            if (s != null && (best == null || s.id() < best.id())) {
                best = s;
            }
        }
        return best;
    }

    /** Whether an adapter outside the active set has a request ready to run. */
    private boolean readyPending() {
        for (AdapterQueue q : pending) {
            if (q.firstReady() != null) {
                return true;
            }
        }
        return false;
    }

    /** Keeps sequences of one adapter next to each other, so the batch's rows form one segment per adapter. */
    private void insertGrouped(Sequence seq) {
        for (int i = running.size() - 1; i >= 0; i--) {
            if (running.get(i).lora() == seq.lora()) { // the kernels' segments: one per slot
                running.add(i + 1, seq);
                return;
            }
        }
        running.add(seq);
    }

    private AdapterQueue queueOf(Sequence s) {
        return queues.get(s.adapterKey() == null ? BASE : s.adapterKey());
    }

    /** Decides the sequence's run of tokens this step (kept in it until the batch is filled); returns the prefill tokens it uses. */
    private int decide(Sequence s, int budget) {
        int uncached = s.uncached();
        boolean decoding = !s.prefilling();
        int room = s.blocks().size() * pool.blockSize() - s.cached(); // never write past the blocks it holds
        if (decoding && s.draftLen() > 0 && speculating && room >= 1 + s.draftLen()) {
            s.scheduleRun(1 + s.draftLen(), true);
            return 0;
        }
        if (decoding) {
            s.drafted(0); // not verified this step: the candidates would be for the wrong position
        }
        int n = Math.min(room, decoding ? uncached : Math.min(uncached, budget));
        if (s.request().prefillDetails() && s.cached() < s.promptLength()) {
            n = Math.min(n, maxLogitRows);
        }
        n = Math.max(0, n);
        s.scheduleRun(n, false);
        return decoding ? 0 : n;
    }

    /** Adds the run {@link #decide} chose to the batch, and to this step's plan. */
    private void fill(StepBatch batch, Sequence s) {
        int n = s.scheduledRun();
        if (n <= 0) {
            return;
        }
        if (s.verifying()) {
            record(batch, s, n, 0);
            batch.addSequence(s.specRun(), 0, n, s.cached(), s.blocks().array(), 0, s.lora());
            return;
        }
        boolean wantsAll = s.request().prefillDetails() && s.cached() < s.promptLength();
        boolean completes = n == s.uncached();
        int from = wantsAll ? 0 : completes ? n - 1 : n;
        record(batch, s, n, from);
        batch.addSequence(s.tokens(), s.cached(), n, s.cached(), s.blocks().array(), from, s.lora());
    }

    private void record(StepBatch batch, Sequence s, int n, int from) {
        runs.add(new StepPlan.Run(s, n, from, batch.numLogitRows(), s.verifying(), s.cached()));
    }
}

package dev.loraxj.engine;

import dev.loraxj.backend.StepBatch;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * Decides what runs each step: which waiting sequences join the batch (FIFO, when their whole
 * KV need fits), and how many of each running sequence's uncached tokens go in (every decode
 * token, plus prefill chunks within the prefill budget). Engine thread only.
 */
final class Scheduler {

    private final KvBlockPool pool;
    private final int maxPrefillTokens;
    private final int maxLogitRows;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();

    // The plan of the last schedule(): scheduled[i] runs chunk[i] tokens; logits from logitsFrom[i].
    private Sequence[] scheduled = new Sequence[16];
    private int[] chunk = new int[16];
    private int[] logitsFrom = new int[16];
    private int[] firstLogitRow = new int[16];
    private int numScheduled;

    /**
     * @param maxLogitRows cap on rows of logits one sequence asks for in a step (prefill details
     *                     need a row per prompt token; this bounds the logits buffer)
     */
    Scheduler(KvBlockPool pool, int maxPrefillTokens, int maxLogitRows) {
        this.pool = pool;
        this.maxPrefillTokens = maxPrefillTokens;
        this.maxLogitRows = Math.max(1, maxLogitRows);
    }

    void enqueue(Sequence seq) {
        waiting.addLast(seq);
    }

    boolean idle() {
        return waiting.isEmpty() && running.isEmpty();
    }

    int waitingCount() {
        return waiting.size();
    }

    int runningCount() {
        return running.size();
    }

    /** Removes cancelled sequences, waiting or running, freeing their blocks at once; returns how many. */
    int dropCancelled() {
        int before = waiting.size() + running.size();
        waiting.removeIf(Sequence::cancelled);
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.cancelled()) {
                pool.free(s.blocks());
                it.remove();
            }
        }
        return before - waiting.size() - running.size();
    }

    /** Takes a sequence out of the batch and frees its blocks. */
    void retire(Sequence seq) {
        pool.free(seq.blocks());
        running.remove(seq);
    }

    /** Drops everything (engine failure or shutdown); returns what was dropped. */
    List<Sequence> drain() {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        running.forEach(s -> pool.free(s.blocks()));
        running.clear();
        waiting.clear();
        return all;
    }

    /** Admits what fits and fills {@code batch} with this step's tokens. */
    void schedule(StepBatch batch, long now, dev.loraxj.model.Tokenizer tokenizer) {
        batch.clear();
        numScheduled = 0;
        int budget = maxPrefillTokens;
        for (Sequence s : running) {
            budget -= plan(batch, s, budget);
        }
        while (budget > 0 && !waiting.isEmpty()) {
            Sequence next = waiting.peekFirst();
            int blocks = pool.blocksFor(next.maxSlots()) - next.blocks().size();
            if (!pool.canAllocate(blocks)) {
                break; // FIFO: the head waits for blocks; nothing overtakes it
            }
            waiting.pollFirst();
            pool.allocate(next.blocks(), next.maxSlots());
            next.started(now, tokenizer);
            running.add(next);
            budget -= plan(batch, next, budget);
        }
    }

    /** Adds the sequence's next run of tokens to the batch; returns the prefill tokens it used. */
    private int plan(StepBatch batch, Sequence s, int budget) {
        int uncached = s.uncached();
        boolean decoding = s.cached() >= s.promptLength();
        int n = decoding ? uncached : Math.min(uncached, budget);
        boolean wantsAll = s.request().prefillDetails() && !decoding;
        if (wantsAll) {
            n = Math.min(n, maxLogitRows);
        }
        if (n <= 0) {
            return 0;
        }
        boolean completes = n == uncached;
        int from = wantsAll ? 0 : completes ? n - 1 : n;
        if (numScheduled == scheduled.length) {
            int cap = scheduled.length * 2;
            scheduled = Arrays.copyOf(scheduled, cap);
            chunk = Arrays.copyOf(chunk, cap);
            logitsFrom = Arrays.copyOf(logitsFrom, cap);
            firstLogitRow = Arrays.copyOf(firstLogitRow, cap);
        }
        firstLogitRow[numScheduled] = batch.numLogitRows();
        scheduled[numScheduled] = s;
        chunk[numScheduled] = n;
        logitsFrom[numScheduled] = from;
        numScheduled++;
        batch.addSequence(s.tokens(), s.cached(), n, s.cached(), s.blocks().array(), from);
        return decoding ? 0 : n;
    }

    int numScheduled() {
        return numScheduled;
    }

    Sequence scheduled(int i) {
        return scheduled[i];
    }

    int chunk(int i) {
        return chunk[i];
    }

    int logitsFrom(int i) {
        return logitsFrom[i];
    }

    int firstLogitRow(int i) {
        return firstLogitRow[i];
    }
}

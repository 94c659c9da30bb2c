package dev.loraxj.engine;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.model.IncrementalDetokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One generation in flight: its tokens, how many of them the KV cache holds, its sampler and stop
 * state. Only the engine thread touches it, except {@link #cancel()}.
 */
public final class Sequence {

    private final long id;
    private final GenerationRequest request;
    private final SequenceListener listener;
    private final Sampler sampler;
    private final StopSequences stops;
    private final BlockTable blocks;
    private final int[] tokens;
    private final int promptLength;
    private final long queuedNanos;
    private final List<TokenInfo> prefill;
    private final List<TokenInfo> details;

    private final AdapterKey adapterKey;
    private final CompletableFuture<SequenceSetup> gate;
    private final Runnable wake;
    private AdapterSlot lora;
    private MedusaHeads medusa;
    private dev.loraxj.grammar.GrammarState grammar;
    private int speculate;      // candidates per step (0: no speculation)
    private int[] specRun;      // [last token, candidates...] fed to a verification step
    private int draftLen;
    private int skipped;        // accepted speculative tokens
    private IncrementalDetokenizer detokenizer;
    private int length;
    private int cached;
    private double logprobSum;
    private long startNanos;
    private long lastTokenNanos;
    private long firstTokenNanos;
    private int prefixHitTokens;
    private volatile boolean cancelled;
    private int preemptions;
    private final PrefixChain chain = new PrefixChain();
    private int scheduledRun;   // tokens the scheduler gave it this step, kept until the batch is filled
    private boolean verifying;  // whether that run verifies candidates
    private long adapterSerial;

    /**
     * @param adapterKey identifies the adapter for queueing and grouping (null for the base model)
     * @param gate       completes with the adapter (null for none) once the sequence may run; null when open
     * @param wake       wakes the engine (after a cancel or when the gate completes)
     */
    Sequence(long id, GenerationRequest request, SequenceListener listener, int vocabSize, int blockSize,
             AdapterKey adapterKey, CompletableFuture<SequenceSetup> gate, Runnable wake) {
        this.id = id;
        this.adapterKey = adapterKey;
        this.gate = gate;
        this.wake = wake;
        this.request = request;
        this.listener = listener;
        this.sampler = new Sampler(request.sampling(), vocabSize);
        this.stops = new StopSequences(request.stopping().stopSequences());
        this.promptLength = request.promptIds().length;
        this.tokens = Arrays.copyOf(request.promptIds(), promptLength + request.stopping().maxNewTokens());
        this.length = promptLength;
        this.blocks = new BlockTable((tokens.length + blockSize - 1) / blockSize);
        this.queuedNanos = System.nanoTime();
        this.prefill = request.prefillDetails() ? new ArrayList<>(promptLength) : List.of();
        this.details = request.details() ? new ArrayList<>() : List.of();
    }

    public long id() {
        return id;
    }

    /** Asks the engine to drop this sequence and free its blocks at its next step; any thread. */
    public void cancel() {
        if (!cancelled) {
            cancelled = true;
            wake.run();
        }
    }

    AdapterKey adapterKey() {
        return adapterKey;
    }

    /** The adapter this sequence runs with, once admitted (null for the base model). */
    AdapterSlot lora() {
        return lora;
    }

    MedusaHeads medusa() {
        return medusa;
    }

    int speculate() {
        return speculate;
    }

    /** Candidates proposed for the next step (0 when none). */
    int draftLen() {
        return draftLen;
    }

    /** The verification run: the last token, then the candidates. */
    int[] specRun() {
        specRun[0] = tokens[cached];
        return specRun;
    }

    int draft(int i) {
        return specRun[1 + i];
    }

    void propose(int i, int token) {
        specRun[1 + i] = token;
    }

    void drafted(int n) {
        draftLen = n;
    }

    int skipped() {
        return skipped;
    }

    void accepted(int n) {
        skipped += n;
    }

    boolean gateOpen() {
        return gate == null || gate.isDone() && !gate.isCompletedExceptionally();
    }

    boolean gateFailed() {
        return gate != null && gate.isCompletedExceptionally();
    }

    /** Why the gate failed (unwrapped). */
    Throwable gateError() {
        try {
            gate.join();
            return null;
        } catch (java.util.concurrent.CompletionException e) {
            return e.getCause() != null ? e.getCause() : e;
        } catch (java.util.concurrent.CancellationException e) {
            return e;
        }
    }

    boolean cancelled() {
        return cancelled;
    }

    GenerationRequest request() {
        return request;
    }

    SequenceListener listener() {
        return listener;
    }

    Sampler sampler() {
        return sampler;
    }

    StopSequences stops() {
        return stops;
    }

    BlockTable blocks() {
        return blocks;
    }

    int[] tokens() {
        return tokens;
    }

    int length() {
        return length;
    }

    int cached() {
        return cached;
    }

    int promptLength() {
        return promptLength;
    }

    int generated() {
        return length - promptLength;
    }

    /** Whether the next step feeds more than the one token a decode step feeds: its prompt, or a recompute after preemption. */
    boolean prefilling() {
        return cached < promptLength || length - cached > 1;
    }


    /**
     * Taken out of the batch with its KV freed; it keeps its tokens, sampler, stops and events
     * sent, and recomputes its KV (prompt and generated tokens) when admitted again.
     */
    void preempted() {
        cached = 0;
        draftLen = 0;
        preemptions++;
        chain.reset();
    }

    /** The run the scheduler chose for this step: {@code n} tokens, a verification of candidates or not. */
    void scheduleRun(int n, boolean verifying) {
        scheduledRun = n;
        this.verifying = verifying;
    }

    int scheduledRun() {
        return scheduledRun;
    }

    boolean verifying() {
        return verifying;
    }

    /** Its place in the prefix cache's chain of full blocks. */
    PrefixChain chain() {
        return chain;
    }

    /** The identity of the loaded adapter its KV is computed with (0: the base model), for the prefix cache. */
    long adapterSerial() {
        return adapterSerial;
    }

    void adapterSerial(long serial) {
        adapterSerial = serial;
    }

    int preemptions() {
        return preemptions;
    }

    int uncached() {
        return length - cached;
    }

    void markCached(int count) {
        cached += count;
    }

    void append(int token, float logprob) {
        tokens[length++] = token;
        logprobSum += logprob;
    }

    double logprobSum() {
        return logprobSum;
    }

    List<TokenInfo> prefill() {
        return prefill;
    }

    List<TokenInfo> details() {
        return details;
    }

    long queuedNanos() {
        return queuedNanos;
    }

    long startNanos() {
        return startNanos;
    }

    /**
     * About to be admitted: takes its adapter from the (open) gate, and Medusa heads (its own, else
     * the server's default) with up to {@code speculativeTokens} candidates per step.
     */
    void resolve(MedusaHeads defaultMedusa, int speculativeTokens) {
        if (specRun != null) {
            return; // resumed after a preemption: already resolved
        }
        SequenceSetup a = gate == null ? SequenceSetup.NONE : gate.join();
        lora = a.lora();
        grammar = a.grammar() == null ? null : a.grammar().start();
        medusa = a.medusa() != null ? a.medusa() : defaultMedusa;
        speculate = medusa == null ? 0 : Math.min(speculativeTokens, medusa.numHeads());
        specRun = new int[speculate + 1];
    }

    /** Where its output stands in the grammar it must follow, or null when it is free. */
    dev.loraxj.grammar.GrammarState grammar() {
        return grammar;
    }

    /** Admitted to the batch (again, after a preemption: its start time and stream state are kept). */
    void started(long now) {
        if (preemptions == 0) {
            startNanos = now;
        }
    }

    /** Its stream's detokenizer; null until the output processor starts it at the first token. */
    IncrementalDetokenizer detokenizer() {
        return detokenizer;
    }

    void detokenizer(IncrementalDetokenizer d) {
        detokenizer = d;
    }

    long lastTokenNanos() {
        return lastTokenNanos;
    }

    void tokenAt(long now) {
        lastTokenNanos = now;
    }

    long firstTokenNanos() {
        return firstTokenNanos;
    }

    void firstTokenAt(long now) {
        firstTokenNanos = now;
    }

    /** Prompt tokens the prefix cache held when it was first admitted (a recompute after a preemption does not count). */
    int prefixHitTokens() {
        return prefixHitTokens;
    }

    void prefixHit(int tokens) {
        if (preemptions == 0) {
            prefixHitTokens = tokens;
        }
    }
}

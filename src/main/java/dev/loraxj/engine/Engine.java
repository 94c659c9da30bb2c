package dev.loraxj.engine;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.backend.Backend;
import dev.loraxj.backend.StepBatch;
import dev.loraxj.model.IncrementalDetokenizer;
import dev.loraxj.model.Tokenizer;
import org.jboss.logging.Logger;

import dev.loraxj.backend.MedusaHeads;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Continuous, iteration-level batching on one thread. Each step: take new sequences, drop
 * cancelled ones, let the {@link Scheduler} fill a {@link StepBatch}, run the backend, then sample,
 * detokenize, check stops and emit events per sequence. The engine thread is the only writer of
 * engine state; other threads talk to it through {@link #submit} and {@link Sequence#cancel()}.
 */
public final class Engine implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Engine.class);
    private static final int MAX_LOGIT_FLOATS = 1 << 24;

    private final Backend backend;
    private final Tokenizer tokenizer;
    private final EngineMetrics metrics;
    private final KvBlockPool pool;
    private final Scheduler scheduler;
    private final StepBatch batch;
    private final int vocabSize;
    private final int[] eos;
    private static final Object WAKE = new Object();
    private final LinkedBlockingQueue<Object> incoming = new LinkedBlockingQueue<>();
    private final AtomicLong ids = new AtomicLong();
    private final Thread thread;
    private volatile boolean stopping;
    private int[] altIds = new int[0];
    private float[] medusaLogits = new float[0];
    private float[] draftHidden = new float[0];
    private Sequence[] draftSeqs = new Sequence[16];
    private int[] draftRows = new int[16];
    private int numDrafts;
    private float[] altLogprobs = new float[0];

    public Engine(Backend backend, Tokenizer tokenizer, EngineConfig config, io.micrometer.core.instrument.MeterRegistry registry) {
        this.backend = backend;
        this.tokenizer = tokenizer;
        this.vocabSize = backend.config().vocabSize();
        int numBlocks = Math.max(1, config.maxBatchTotalTokens() / config.blockSize());
        this.pool = new KvBlockPool(numBlocks, config.blockSize(), config.prefixCaching());
        backend.allocateKvCache(numBlocks, config.blockSize());
        this.metrics = new EngineMetrics(registry, numBlocks);
        this.scheduler = new Scheduler(pool, config.maxBatchPrefillTokens(), MAX_LOGIT_FLOATS / vocabSize,
                config.maxActiveAdapters(), config.adapterCycleNanos(), config.medusa(), config.speculativeTokens(),
                config.speculativeMaxBatch()).reservingWorstCase(config.reserveWorstCase());
        this.batch = new StepBatch(vocabSize);
        this.eos = tokenizer.eosIds();
        this.thread = Thread.ofPlatform().name("loraxj-engine").daemon(true).unstarted(this::run);
    }

    public Engine start() {
        thread.start();
        return this;
    }

    public EngineMetrics metrics() {
        return metrics;
    }

    /** The block pool, for tests that check reference counts once the engine is idle. */
    KvBlockPool pool() {
        return pool;
    }

    /** Whether full KV blocks are shared among requests with the same prefix. */
    public boolean prefixCaching() {
        return pool.prefixCaching();
    }

    public int totalBlocks() {
        return pool.numBlocks();
    }

    public boolean alive() {
        return thread.isAlive() && !stopping;
    }

    /** Queues a base-model sequence; it joins the batch at a coming step. Any thread. */
    public Sequence submit(GenerationRequest request, SequenceListener listener) {
        return submit(request, listener, null, null);
    }

    /**
     * Queues a sequence at once; it joins the batch only after {@code gate} completes (with the
     * adapter to apply, or null), and fails if the gate fails. Any thread.
     *
     * @param adapterKey the adapter's identity for its queue and batch segment (null for the base model)
     */
    public Sequence submit(GenerationRequest request, SequenceListener listener, AdapterKey adapterKey,
                           CompletableFuture<SequenceAdapter> gate) {
        if (stopping) {
            throw new IllegalStateException("engine is stopped");
        }
        Sequence seq = new Sequence(ids.incrementAndGet(), request, listener, vocabSize, pool.blockSize(),
                adapterKey, gate, this::wake);
        metrics.queueSize.incrementAndGet();
        incoming.add(seq);
        if (gate != null) {
            gate.whenComplete((a, t) -> wake());
        }
        return seq;
    }

    /** Makes the engine look at its queues again (a gate opened, a sequence was cancelled). */
    private void wake() {
        incoming.offer(WAKE);
    }

    private void run() {
        boolean worked = true;
        while (!stopping) {
            try {
                if (!worked) {
                    take(incoming.take()); // nothing runnable: sleep until something arrives or a gate opens
                }
                Object more;
                while ((more = incoming.poll()) != null) {
                    take(more);
                }
                worked = step();
            } catch (InterruptedException e) {
                break;
            } catch (Throwable t) {
                LOG.error("engine step failed; failing the sequences of this batch", t);
                for (Sequence s : scheduler.drain()) {
                    s.listener().onError(new EngineException("generation failed: " + t.getMessage(), t));
                }
                pool.dropCache(); // the failed step's blocks were registered before it computed them
                publishGauges();
            }
        }
        for (Sequence s : scheduler.drain()) {
            s.listener().onError(new EngineException("server is shutting down"));
        }
        Object o;
        while ((o = incoming.poll()) != null) {
            if (o instanceof Sequence s) {
                s.listener().onError(new EngineException("server is shutting down"));
            }
        }
    }

    private void take(Object o) {
        if (o instanceof Sequence s) {
            scheduler.enqueue(s);
        }
    }

    /** One iteration; false when there was nothing to run. */
    private boolean step() {
        long t0 = System.nanoTime();
        metrics.cancelled(scheduler.dropCancelledAndFailed(s -> s.listener().onError(s.gateError())));
        scheduler.schedule(batch, t0, tokenizer);
        publishGauges();
        if (batch.numTokens() == 0) {
            return false;
        }
        backend.forward(batch);
        long now = System.nanoTime();
        float[] logits = batch.logits();
        List<Sequence> done = null;
        for (int i = 0; i < scheduler.numScheduled(); i++) {
            Sequence s = scheduler.scheduled(i);
            int n = scheduler.chunk(i);
            int firstPos = s.cached();
            int from = scheduler.logitsFrom(i);
            int row = scheduler.firstLogitRow(i);
            boolean finished;
            if (s.plannedSpeculative()) {
                finished = verify(s, logits, row, now);
            } else {
                if (firstPos < s.promptLength()) {
                    if (s.preemptions() == 0) { // a recompute after a preemption is not new prompt work
                        metrics.prefilled(Math.min(n, s.promptLength() - firstPos));
                    }
                    if (s.request().prefillDetails()) {
                        recordPrefill(s, firstPos, n, logits, row);
                    }
                }
                s.markCached(n);
                finished = false;
                if (s.uncached() == 0) {
                    int lastRow = row + (n - 1 - from);
                    finished = poisoned(s, logits, lastRow * vocabSize) || emitNext(s, logits, lastRow * vocabSize, now);
                    if (!finished) {
                        queueDraft(s, lastRow);
                    }
                }
            }
            scheduler.computed(s);
            if (finished) {
                if (done == null) {
                    done = new ArrayList<>();
                }
                done.add(s);
            }
        }
        runDrafts();
        if (done != null) {
            done.forEach(scheduler::retire);
        }
        publishGauges();
        metrics.step(System.nanoTime() - t0);
        return true;
    }

    /**
     * A verification step fed {@code [last, c1..ck]}: each position's token is chosen by the
     * sequence's own sampler, and accepted while it equals the candidate, so the output is what
     * decoding one token at a time gives. KV of rejected positions is dropped by not counting it.
     */
    private boolean verify(Sequence s, float[] logits, int row, long now) {
        int k = s.draftLen();
        int matched = 0;
        boolean finished = false;
        for (int j = 0; j <= k; j++) {
            if (poisoned(s, logits, (row + j) * vocabSize)) {
                return true;
            }
            int before = s.length();
            finished = emitNext(s, logits, (row + j) * vocabSize, now);
            int chosen = s.tokens()[before];
            if (finished || j == k || chosen != s.draft(j)) {
                break;
            }
            matched++;
        }
        s.markCached(1 + matched);
        s.accepted(matched);
        metrics.speculated(k, matched);
        if (!finished) {
            queueDraft(s, row + matched);
        }
        return finished;
    }

    /** Marks the sequence for candidates from its last accepted row, proposed after the step. */
    private void queueDraft(Sequence s, int hiddenRow) {
        if (s.speculate() == 0 || !scheduler.speculating()) {
            s.drafted(0);
            return;
        }
        if (numDrafts == draftRows.length) {
            draftRows = Arrays.copyOf(draftRows, numDrafts * 2);
            draftSeqs = Arrays.copyOf(draftSeqs, numDrafts * 2);
        }
        draftSeqs[numDrafts] = s;
        draftRows[numDrafts++] = hiddenRow;
    }

    /**
     * Proposes every queued sequence's candidates: top-1 of each Medusa head. Sequences that share
     * heads run through them together, so each head's weights are read once per step.
     */
    private void runDrafts() {
        int d = backend.config().hiddenSize();
        float[] hidden = backend.finalHidden();
        boolean[] handled = new boolean[numDrafts];
        for (int first = 0; first < numDrafts; first++) {
            if (handled[first]) {
                continue;
            }
            MedusaHeads heads = draftSeqs[first].medusa();
            int n = 0;
            for (int j = first; j < numDrafts; j++) {
                if (!handled[j] && draftSeqs[j].medusa() == heads) {
                    n++;
                }
            }
            if (draftHidden.length < n * d) {
                draftHidden = new float[n * d];
            }
            if (medusaLogits.length < heads.numHeads() * n * vocabSize) {
                medusaLogits = new float[heads.numHeads() * n * vocabSize];
            }
            Sequence[] group = new Sequence[n];
            int r = 0;
            for (int j = first; j < numDrafts; j++) {
                if (!handled[j] && draftSeqs[j].medusa() == heads) {
                    handled[j] = true;
                    group[r] = draftSeqs[j];
                    System.arraycopy(hidden, draftRows[j] * d, draftHidden, r * d, d);
                    r++;
                }
            }
            backend.medusa(heads, draftHidden, n, medusaLogits);
            for (int j = 0; j < n; j++) {
                int k = group[j].speculate();
                for (int i = 0; i < k; i++) {
                    group[j].propose(i, argmax(medusaLogits, (i * n + j) * vocabSize, vocabSize));
                }
                group[j].drafted(k);
            }
        }
        Arrays.fill(draftSeqs, 0, numDrafts, null);
        numDrafts = 0;
    }

    private static int argmax(float[] v, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[off + i] > v[off + best]) {
                best = i;
            }
        }
        return best;
    }

    private void publishGauges() {
        metrics.queueSize.set(scheduler.waitingCount());
        metrics.activeAdapters.set(scheduler.activeAdapters());
        metrics.batchSize.set(scheduler.runningCount());
        metrics.maxBatchSize.accumulateAndGet(scheduler.runningCount(), Math::max);
        metrics.batchTokens.set(batch.numTokens());
        metrics.freeBlocks.set(pool.freeBlocks());
        metrics.preempted(scheduler.preemptions());
        metrics.prefixCache(scheduler.prefixQueries(), scheduler.prefixHits(), scheduler.prefixHitTokens());
        metrics.cachedBlocks.set(pool.cachedBlocks());
    }

    /** Logprob of each prompt token given the ones before it (the first has none). */
    private void recordPrefill(Sequence s, int firstPos, int n, float[] logits, int row) {
        int[] tokens = s.tokens();
        if (firstPos == 0 && s.prefill().isEmpty()) {
            s.prefill().add(new TokenInfo(tokens[0], tokenizer.tokenText(tokens[0]), Float.NaN, tokenizer.isSpecial(tokens[0]), null));
        }
        // entry q+1 holds position q+1: a sequence recomputed after a preemption records none twice
        for (int q = Math.max(firstPos, s.prefill().size() - 1); q < firstPos + n && q + 1 < s.promptLength(); q++) {
            int id = tokens[q + 1];
            float lp = Sampler.logSoftmaxAt(logits, (row + q - firstPos) * vocabSize, vocabSize, id);
            s.prefill().add(new TokenInfo(id, tokenizer.tokenText(id), lp, tokenizer.isSpecial(id), null));
        }
    }

    /**
     * A row with a NaN or an infinity (a broken adapter, an overflow) would sample garbage: the
     * sequence fails alone, with a clear error, and is retired like a finished one.
     */
    private boolean poisoned(Sequence s, float[] logits, int offset) {
        for (int i = offset, end = offset + vocabSize; i < end; i++) {
            if (!Float.isFinite(logits[i])) {
                metrics.nonFinite();
                s.listener().onError(new EngineException("generation failed: the model produced a non-finite logit ("
                        + logits[i] + " for token " + (i - offset) + ")" + (s.lora() != null
                        ? "; the adapter's weights overflow or are broken" : "")));
                return true;
            }
        }
        return false;
    }

    /** Samples, emits and checks stops; returns true when the sequence finished. */
    private boolean emitNext(Sequence s, float[] logits, int offset, long now) {
        GenerationRequest req = s.request();
        Sampler sampler = s.sampler();
        int id = sampler.next(logits, offset, s.tokens(), s.length(), s.promptLength());
        float logprob = sampler.lastLogprob();
        s.append(id, logprob);
        metrics.generated();
        if (s.generated() == 1) {
            metrics.firstToken(now - s.queuedNanos());
        } else {
            metrics.nextToken(now - s.lastTokenNanos());
        }
        s.tokenAt(now);
        String text = s.detokenizer().next(id);
        FinishReason finish = null;
        if (!req.stopping().ignoreEos() && isEos(id)) {
            finish = FinishReason.EOS_TOKEN;
        } else if (s.generated() >= req.stopping().maxNewTokens()) {
            finish = FinishReason.LENGTH;
        } else if (s.stops().append(text) >= 0) {
            finish = FinishReason.STOP_SEQUENCE;
        }
        if (finish != null) {
            text += s.detokenizer().flush();
        }
        TokenInfo token = new TokenInfo(id, text, logprob, tokenizer.isSpecial(id), alternatives(req, sampler, s.detokenizer(), finish != null));
        if (req.details()) {
            s.details().add(token);
        }
        if (finish == null) {
            s.listener().onEvent(new TokenEvent.Token(token));
            return false;
        }
        metrics.finished(now - s.queuedNanos());
        Generation g = new Generation(finalText(s), finish, s.promptLength(), s.generated(), req.seedReported(),
                s.prefill(), s.details(), s.logprobSum(), s.skipped(), s.queuedNanos(), s.startNanos(), now);
        s.listener().onEvent(new TokenEvent.Finished(token, g));
        return true;
    }

    /** Each alternative decoded in the chosen token's context, as the chosen token's text was. */
    private List<TokenInfo> alternatives(GenerationRequest req, Sampler sampler, IncrementalDetokenizer detokenizer, boolean flushed) {
        int k = req.alternatives();
        if (k <= 0) {
            return null;
        }
        if (altIds.length < k) {
            altIds = new int[k];
            altLogprobs = new float[k];
        }
        int count = sampler.lastAlternatives(k, altIds, altLogprobs);
        List<TokenInfo> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(new TokenInfo(altIds[i], detokenizer.alternative(altIds[i], flushed), altLogprobs[i], tokenizer.isSpecial(altIds[i]), null));
        }
        return out;
    }

    /** The generated text, decoded with one prompt token of context so a leading space survives. */
    private String finalText(Sequence s) {
        int[] t = s.tokens();
        int ctx = s.promptLength() - 1;
        String prefix = tokenizer.decode(t, ctx, s.promptLength(), true);
        String full = tokenizer.decode(t, ctx, s.length(), true);
        if (full.startsWith(prefix)) {
            return full.substring(prefix.length());
        }
        return tokenizer.decode(t, s.promptLength(), s.length(), true);
    }

    private boolean isEos(int id) {
        for (int e : eos) {
            if (e == id) {
                return true;
            }
        }
        return false;
    }

    /** Stops the loop; sequences still running fail with "server is shutting down". */
    @Override
    public void close() {
        stopping = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

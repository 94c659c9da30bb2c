package dev.loraxj.engine;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.AdapterSlots;
import dev.loraxj.backend.Backend;
import dev.loraxj.backend.LoraShape;
import dev.loraxj.backend.LoraUpdate;
import dev.loraxj.backend.StepBatch;
import dev.loraxj.model.Tokenizer;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Continuous, iteration-level batching on one thread. Each step: take new sequences, drop
 * cancelled ones, let the {@link Scheduler} fill a {@link StepBatch} and hand back its
 * {@link StepPlan}, run the backend, hand each run's rows to the {@link OutputProcessor} (tokens,
 * stops, events) and the {@link MedusaDrafter} (next candidates), then retire the finished. The
 * engine thread is the only writer of engine state; other threads talk to it through
 * {@link #submit} and {@link Sequence#cancel()}.
 */
public final class Engine implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Engine.class);
    private static final int MAX_LOGIT_FLOATS = 1 << 24;

    private final Backend backend;
    private final EngineMetrics metrics;
    private final KvBlockPool pool;
    private final Scheduler scheduler;
    private final StepBatch batch;
    private final OutputProcessor output;
    private final MedusaDrafter drafter;
    private final int vocabSize;
    private static final Object WAKE = new Object();
    private final LinkedBlockingQueue<Object> incoming = new LinkedBlockingQueue<>();
    private final AtomicLong ids = new AtomicLong();
    private final Thread thread;
    private volatile boolean stopping;
    private final AdapterSlots slots = new AdapterSlots() {
        @Override
        public AdapterFootprint footprint(List<LoraShape> shapes) {
            return backend.footprint(shapes);
        }

        @Override
        public AdapterSlot register(List<LoraUpdate> updates) {
            return backend.register(updates);
        }

        @Override
        public void release(AdapterSlot slot) {
            incoming.add(new Release(slot)); // once the engine stopped, closing the backend frees everything
        }
    };

    public Engine(Backend backend, Tokenizer tokenizer, EngineConfig config, io.micrometer.core.instrument.MeterRegistry registry) {
        this.backend = backend;
        this.vocabSize = backend.config().vocabSize();
        int numBlocks = Math.max(1, config.maxBatchTotalTokens() / config.blockSize());
        this.pool = new KvBlockPool(numBlocks, config.blockSize(), config.prefixCaching());
        backend.allocateKvCache(numBlocks, config.blockSize());
        this.metrics = new EngineMetrics(registry, numBlocks);
        this.scheduler = new Scheduler(pool, config.maxBatchPrefillTokens(), MAX_LOGIT_FLOATS / vocabSize,
                config.maxActiveAdapters(), config.adapterCycleNanos(), config.medusa(), config.speculativeTokens(),
                config.speculativeMaxBatch()).reservingWorstCase(config.reserveWorstCase());
        this.batch = new StepBatch(vocabSize);
        this.output = new OutputProcessor(tokenizer, metrics, vocabSize);
        this.drafter = new MedusaDrafter(backend);
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
                           CompletableFuture<SequenceSetup> gate) {
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

    /**
     * Where adapters' weights go: the backend's slots, with each release deferred to the engine
     * thread between steps, after the sequences that ended with the adapter have left the batch.
     */
    public AdapterSlots slots() {
        return slots;
    }

    private record Release(AdapterSlot slot) {
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
                drafter.clear();
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
        } else if (o instanceof Release r) {
            backend.release(r.slot());
        }
    }

    /** One iteration; false when there was nothing to run. */
    private boolean step() {
        long t0 = System.nanoTime();
        metrics.cancelled(scheduler.dropCancelledAndFailed(s -> s.listener().onError(s.gateError())));
        StepPlan plan = scheduler.schedule(batch, t0);
        publishGauges();
        if (batch.numTokens() == 0) {
            return false;
        }
        backend.forward(batch);
        long now = System.nanoTime();
        float[] logits = batch.logits();
        List<Sequence> done = null;
        for (StepPlan.Run run : plan.runs()) {
            Sequence s = run.sequence();
            int draftRow = output.process(run, logits, now);
            if (draftRow >= 0) {
                drafter.queue(s, draftRow, plan.speculating());
            }
            scheduler.computed(s);
            if (draftRow == OutputProcessor.FINISHED) {
                if (done == null) {
                    done = new ArrayList<>();
                }
                done.add(s);
            }
        }
        drafter.draft();
        if (done != null) {
            done.forEach(scheduler::retire);
        }
        publishGauges();
        metrics.step(System.nanoTime() - t0);
        return true;
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
        metrics.adapters(scheduler.activity(metrics.lastActivity()), System.currentTimeMillis());
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

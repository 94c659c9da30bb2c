package dev.loraxj.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The engine's meters. Gauges read atomics the engine thread writes once per step. */
public final class EngineMetrics {

    final AtomicInteger queueSize = new AtomicInteger();
    final AtomicInteger batchSize = new AtomicInteger();
    final AtomicInteger maxBatchSize = new AtomicInteger();
    final AtomicInteger batchTokens = new AtomicInteger();
    final AtomicInteger freeBlocks = new AtomicInteger();
    final AtomicInteger cachedBlocks = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong prefixQueries = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong prefixHits = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong prefixHitTokens = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong preemptions = new java.util.concurrent.atomic.AtomicLong();
    final AtomicInteger activeAdapters = new AtomicInteger();
    private volatile AdapterActivity adapterActivity = AdapterActivity.NONE;
    private volatile long adapterActivityMillis;
    private final Counter generatedTokens;
    private final Counter promptTokens;
    private final Counter cancelled;
    private final Counter nonFinite;
    private final Counter proposed;
    private final Counter accepted;
    private final Counter specSteps;
    private final Timer timeToFirstToken;
    private final Timer interTokenLatency;
    private final Timer requestDuration;
    private final Timer stepDuration;

    public EngineMetrics(MeterRegistry registry, int totalBlocks) {
        freeBlocks.set(totalBlocks);
        Gauge.builder("loraxj_queue_size", queueSize, AtomicInteger::get)
                .description("Sequences waiting to join the batch").register(registry);
        Gauge.builder("loraxj_batch_size", batchSize, AtomicInteger::get)
                .description("Sequences in the running batch").register(registry);
        Gauge.builder("loraxj_batch_size_max", maxBatchSize, AtomicInteger::get)
                .description("Most sequences in one step since the start").register(registry);
        Gauge.builder("loraxj_batch_tokens", batchTokens, AtomicInteger::get)
                .description("Tokens in the last step (decode plus prefill chunks)").register(registry);
        Gauge.builder("loraxj_kv_cache_free_blocks", freeBlocks, AtomicInteger::get)
                .description("Free blocks of the paged KV cache").register(registry);
        Gauge.builder("loraxj_kv_cache_cached_blocks", cachedBlocks, AtomicInteger::get)
                .description("Free KV blocks that still hold a cached prefix (counted as free)").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("loraxj_prefix_cache_queries", prefixQueries, java.util.concurrent.atomic.AtomicLong::get)
                .description("Admissions that looked up their prefix in the cache").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("loraxj_prefix_cache_hits", prefixHits, java.util.concurrent.atomic.AtomicLong::get)
                .description("Admissions that reused at least one cached block").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("loraxj_prefix_cache_hit_tokens", prefixHitTokens, java.util.concurrent.atomic.AtomicLong::get)
                .description("Prompt tokens whose KV came from the prefix cache instead of being computed").register(registry);
        Gauge.builder("loraxj_active_adapters", activeAdapters, AtomicInteger::get)
                .description("Adapters (the base model counts as one) taking requests").register(registry);
        Gauge.builder("loraxj_kv_cache_blocks", () -> totalBlocks)
                .description("Blocks of the paged KV cache").register(registry);
        generatedTokens = Counter.builder("loraxj_generated_tokens").description("Tokens generated").register(registry);
        promptTokens = Counter.builder("loraxj_prompt_tokens").description("Prompt tokens prefilled").register(registry);
        cancelled = Counter.builder("loraxj_sequences_cancelled").description("Sequences dropped because their client went away").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("loraxj_preemptions", preemptions, java.util.concurrent.atomic.AtomicLong::get)
                .description("Running sequences preempted (KV freed, recomputed later) because the KV cache ran dry").register(registry);
        nonFinite = Counter.builder("loraxj_sequences_non_finite").description("Sequences failed because their logits held a NaN or an infinity").register(registry);
        proposed = Counter.builder("loraxj_speculative_proposed_tokens").description("Medusa candidates verified").register(registry);
        accepted = Counter.builder("loraxj_speculative_accepted_tokens").description("Medusa candidates accepted").register(registry);
        specSteps = Counter.builder("loraxj_speculative_steps").description("Sequence steps that verified candidates").register(registry);
        Gauge.builder("loraxj_speculative_mean_accepted_per_step", this, m -> m.specSteps.count() == 0 ? 0
                : (m.accepted.count() + m.specSteps.count()) / m.specSteps.count())
                .description("Tokens gained per verification step (1 + accepted candidates), on average").register(registry);
        timeToFirstToken = histogram(registry, "loraxj_time_to_first_token", "From arrival to the first generated token");
        interTokenLatency = histogram(registry, "loraxj_inter_token_latency", "Between consecutive tokens of a sequence");
        requestDuration = histogram(registry, "loraxj_request_duration", "From arrival to the last token");
        stepDuration = histogram(registry, "loraxj_step_duration", "One engine step (forward and sampling)");
    }

    private static Timer histogram(MeterRegistry registry, String name, String description) {
        return Timer.builder(name).description(description).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(100_000)).maximumExpectedValue(Duration.ofSeconds(600))
                .register(registry);
    }

    /** Most sequences that ran in one step since the start. */
    public int maxBatchSize() {
        return maxBatchSize.get();
    }

    /** The scheduler's total, read by the counter. */
    void preempted(long total) {
        preemptions.set(total);
    }

    void prefixCache(long queries, long hits, long hitTokens) {
        prefixQueries.set(queries);
        prefixHits.set(hits);
        prefixHitTokens.set(hitTokens);
    }

    /** Tokens served from the prefix cache since the start. */
    public long prefixHitTokens() {
        return prefixHitTokens.get();
    }

    void nonFinite() {
        nonFinite.increment();
    }

    void firstToken(long nanos) {
        timeToFirstToken.record(nanos, TimeUnit.NANOSECONDS);
    }

    void nextToken(long nanos) {
        interTokenLatency.record(nanos, TimeUnit.NANOSECONDS);
    }

    void finished(long nanos) {
        requestDuration.record(nanos, TimeUnit.NANOSECONDS);
    }

    void step(long nanos) {
        stepDuration.record(nanos, TimeUnit.NANOSECONDS);
    }

    void cancelled(int count) {
        if (count > 0) {
            cancelled.increment(count);
        }
    }

    void speculated(int candidates, int acceptedCandidates) {
        proposed.increment(candidates);
        accepted.increment(acceptedCandidates);
        specSteps.increment();
    }

    /** Tokens gained per verification step so far (1 + accepted candidates), 0 before any. */
    public double meanAcceptedPerStep() {
        return specSteps.count() == 0 ? 0 : (accepted.count() + specSteps.count()) / specSteps.count();
    }

    void generated() {
        generatedTokens.increment();
    }

    void prefilled(int tokens) {
        promptTokens.increment(tokens);
    }

    public int freeBlocks() {
        return freeBlocks.get();
    }

    public int queueSize() {
        return queueSize.get();
    }

    /** Sequences in the running batch, as of the last step. */
    public int batchSize() {
        return batchSize.get();
    }

    /** The adapters running and waiting as of the last step, stamped with that step's wall-clock time. */
    public AdapterActivity adapterActivity() {
        AdapterActivity a = adapterActivity;
        return a.publishedMillis() == adapterActivityMillis ? a : a.at(adapterActivityMillis);
    }

    /** The activity as last published, without the time stamp refreshed (the engine's input to {@link Scheduler#activity}). */
    AdapterActivity lastActivity() {
        return adapterActivity;
    }

    /** Publishes the step's activity: a new object only when the sets changed, else just the time (no allocation per step). */
    void adapters(AdapterActivity activity, long millis) {
        adapterActivityMillis = millis;
        if (activity != adapterActivity) {
            adapterActivity = activity.at(millis);
        }
    }
}

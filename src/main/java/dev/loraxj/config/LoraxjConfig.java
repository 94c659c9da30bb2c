package dev.loraxj.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;


import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Every loraxj setting, under the prefix {@code loraxj} (so {@code LORAXJ_MODEL_ID} works as an
 * environment variable). Documented in the README's configuration table.
 */
@ConfigMapping(prefix = "loraxj")
public interface LoraxjConfig {

    /** The base model: a local directory in Hugging Face layout. */
    String modelId();

    /** Name reported by /info and the OpenAI API; defaults to model-id. */
    Optional<String> servedModelName();

    /** Threads of the compute pool; defaults to the available processors. */
    OptionalInt threads();

    /** Requests in flight (queued or running) before new ones get 429. */
    @WithDefault("128")
    int maxConcurrentRequests();

    /** Longest prompt in tokens; defaults to min(1024, max-total-tokens - 1). */
    OptionalInt maxInputLength();

    /** Longest prompt plus new tokens; defaults to min(2048, the model's max_position_embeddings). */
    OptionalInt maxTotalTokens();

    /** Prompt tokens prefilled per engine step; longer prompts are prefilled in chunks. */
    @WithDefault("4096")
    int maxBatchPrefillTokens();

    /**
     * Token slots of the paged KV cache, shared by all running sequences; defaults to what fits in
     * a quarter of the heap, at most 65536 and at least max-total-tokens.
     */
    OptionalInt maxBatchTotalTokens();

    /** Token slots per KV cache block. */
    @WithDefault("16")
    int kvBlockSize();

    /** Largest best_of a request may ask for. */
    @WithDefault("2")
    int maxBestOf();

    /** Most stop sequences per request. */
    @WithDefault("4")
    int maxStopSequences();

    /** The adapter used when a request names none (LoRAX's --adapter-id); none means the base model. */
    Optional<String> adapterId();

    /** Distinct adapters (the base model counts as one) whose requests may run at once. */
    @WithDefault("1024")
    int maxActiveAdapters();

    /** How long an adapter stays in the active set while other adapters' requests wait. */
    @WithDefault("2s")
    Duration adapterCycleTime();

    Adapters adapters();

    /** Where adapters come from and how many stay in memory. */
    interface Adapters {

        /** The source of requests that name none: local (hub, s3 and pbase come with the sources issue). */
        @WithDefault("local")
        String defaultSource();

        /** Directories under which local adapters may be read; empty disables the local source. */
        Optional<List<String>> localRoots();

        /** Adapters loaded at start and kept in memory, as {@code [source:]id}. */
        Optional<List<String>> preload();

        /** Bytes of adapter weights held in memory (F32); idle adapters are evicted, least recently used first. */
        @WithDefault("1073741824")
        long memoryBudget();

        /** Threads that fetch and load adapters. */
        @WithDefault("4")
        int loaderThreads();
    }
}

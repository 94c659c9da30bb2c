package dev.loraxj.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

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
}

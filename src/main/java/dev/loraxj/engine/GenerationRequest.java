package dev.loraxj.engine;

/**
 * A validated request for one sequence, as the engine runs it.
 *
 * @param promptIds           the tokenized (and truncated) prompt
 * @param details             keep per-token details for the final result
 * @param prefillDetails      report the prompt tokens' logprobs (decoder_input_details)
 * @param alternatives        top-k alternatives to report per generated token (0 for none)
 * @param seedReported        the seed to report in details (null when decoding greedily)
 * @param cacheSalt           prefixes are shared only among requests with the same salt (null: the common pool)
 */
public record GenerationRequest(
        int[] promptIds,
        SamplingParams sampling,
        StoppingParams stopping,
        boolean details,
        boolean prefillDetails,
        int alternatives,
        Long seedReported,
        String cacheSalt) {

    /** A request in the common prefix-cache pool. */
    public GenerationRequest(int[] promptIds, SamplingParams sampling, StoppingParams stopping, boolean details,
                             boolean prefillDetails, int alternatives, Long seedReported) {
        this(promptIds, sampling, stopping, details, prefillDetails, alternatives, seedReported, null);
    }

    /** The same request drawing with another seed (best_of, n), reporting {@code reported}. */
    public GenerationRequest reseeded(long seed, Long reported) {
        return new GenerationRequest(promptIds, sampling.withSeed(seed), stopping, details, prefillDetails, alternatives, reported,
                cacheSalt);
    }
}

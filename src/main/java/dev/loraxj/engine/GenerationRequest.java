package dev.loraxj.engine;

/**
 * A validated request for one sequence, as the engine runs it.
 *
 * @param promptIds           the tokenized (and truncated) prompt
 * @param details             keep per-token details for the final result
 * @param prefillDetails      report the prompt tokens' logprobs (decoder_input_details)
 * @param alternatives        top-k alternatives to report per generated token (0 for none)
 * @param seedReported        the seed to report in details (null when decoding greedily)
 */
public record GenerationRequest(
        int[] promptIds,
        SamplingParams sampling,
        StoppingParams stopping,
        boolean details,
        boolean prefillDetails,
        int alternatives,
        Long seedReported) {
}

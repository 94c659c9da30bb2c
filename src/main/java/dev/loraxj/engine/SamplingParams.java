package dev.loraxj.engine;

import java.util.Map;

/**
 * How one sequence picks its next token. Neutral values switch a step off: temperature 1,
 * top_k 0, top_p 1, typical_p 1, repetition_penalty 1, frequency/presence penalty 0.
 *
 * @param temperature 0 means greedy (as LoRAX), otherwise logits are divided by it
 * @param seed        seeds this sequence's own PRNG
 * @param logitBias   token id to a bias added to its raw logit (OpenAI logit_bias)
 */
public record SamplingParams(boolean doSample, float temperature, int topK, float topP, float typicalP,
        float repetitionPenalty, float frequencyPenalty, float presencePenalty, long seed,
        Map<Integer, Float> logitBias) {

    public SamplingParams {
        require(temperature >= 0 && Float.isFinite(temperature), "temperature must be >= 0, got " + temperature);
        require(topK >= 0, "top_k must be >= 0 (0 disables it), got " + topK);
        require(topP > 0 && topP <= 1, "top_p must be in (0, 1], got " + topP);
        require(typicalP > 0 && typicalP <= 1, "typical_p must be in (0, 1], got " + typicalP);
        require(repetitionPenalty > 0 && Float.isFinite(repetitionPenalty),
                "repetition_penalty must be > 0, got " + repetitionPenalty);
        require(Float.isFinite(frequencyPenalty), "frequency_penalty must be finite, got " + frequencyPenalty);
        require(Float.isFinite(presencePenalty), "presence_penalty must be finite, got " + presencePenalty);
        logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
        logitBias.forEach((id, bias) -> {
            require(id >= 0, "logit_bias token id must be >= 0, got " + id);
            require(!Float.isNaN(bias), "logit_bias for token " + id + " is NaN");
        });
    }

    public static SamplingParams greedy() {
        return new SamplingParams(false, 1f, 0, 1f, 1f, 1f, 0f, 0f, 0L, Map.of());
    }

    /** The same parameters with another seed (best_of runs one sequence per seed). */
    public SamplingParams withSeed(long newSeed) {
        return new SamplingParams(doSample, temperature, topK, topP, typicalP, repetitionPenalty,
                frequencyPenalty, presencePenalty, newSeed, logitBias);
    }

    /** True when the token is drawn at random: do_sample or any warper set, unless temperature is 0 (LoRAX's rule). */
    public boolean sampling() {
        return temperature != 0f && (doSample || hasWarpers());
    }

    /** Any of temperature, top_k, top_p, typical_p changes the distribution. */
    public boolean hasWarpers() {
        return temperature != 1f && temperature != 0f || topK != 0 || topP < 1f || typicalP < 1f;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}

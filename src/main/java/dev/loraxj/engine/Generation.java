package dev.loraxj.engine;

import java.util.List;

/**
 * The outcome of one finished sequence.
 *
 * @param prefill empty unless prefill details were asked for
 * @param tokens  empty unless details were asked for
 * @param logprobSum sum of the generated tokens' logprobs (ranks best_of candidates)
 * @param skippedTokens tokens accepted from Medusa candidates (LoRAX's skipped_tokens)
 * @param firstTokenNanos when its first token was sampled (System.nanoTime, as the others)
 * @param prefixHitTokens prompt tokens the prefix cache held at its first admission (0: a miss)
 */
public record Generation(
        String text,
        FinishReason finishReason,
        int promptTokens,
        int generatedTokens,
        Long seed,
        List<TokenInfo> prefill,
        List<TokenInfo> tokens,
        double logprobSum,
        int skippedTokens,
        long queuedNanos,
        long startNanos,
        long firstTokenNanos,
        long endNanos,
        int prefixHitTokens) {
}

package dev.loraxj.service;

/** The request limits in force, resolved from configuration and the model. */
public record Limits(
        int maxConcurrentRequests,
        int maxInputLength,
        int maxTotalTokens,
        int maxBatchPrefillTokens,
        int maxBatchTotalTokens,
        int kvBlockSize,
        int maxBestOf,
        int maxStopSequences,
        int threads) {
}

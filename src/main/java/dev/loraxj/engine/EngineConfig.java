package dev.loraxj.engine;

/** The engine's budgets, resolved from configuration and the model. */
public record EngineConfig(int maxBatchTotalTokens, int maxBatchPrefillTokens, int blockSize) {
    public EngineConfig {
        if (blockSize < 1 || maxBatchPrefillTokens < 1 || maxBatchTotalTokens < blockSize) {
            throw new IllegalArgumentException("invalid engine budgets: total " + maxBatchTotalTokens
                    + ", prefill " + maxBatchPrefillTokens + ", block " + blockSize);
        }
    }
}

package dev.loraxj.engine;

/**
 * The engine's budgets, resolved from configuration and the model.
 *
 * @param maxActiveAdapters distinct adapters (the base model counts as one) that take requests at once
 * @param adapterCycleNanos how long an adapter stays active while others wait
 * @param medusa            the server's default Medusa heads (null: none; per-request heads still need them)
 * @param speculativeTokens candidates verified per step by sequences with heads
 * @param speculativeMaxBatch steps with more sequences than this decode without speculation
 * @param prefixCaching     share computed KV blocks among requests with the same prefix, adapter and salt
 * @param reserveWorstCase  admit a sequence only when blocks for its prompt plus all its new tokens are free, and
 *                          take them at once (the rule before KV on demand; kept for the bench's comparison)
 */
public record EngineConfig(int maxBatchTotalTokens, int maxBatchPrefillTokens, int blockSize,
                           int maxActiveAdapters, long adapterCycleNanos,
                           dev.loraxj.backend.MedusaHeads medusa, int speculativeTokens, int speculativeMaxBatch,
                           boolean prefixCaching, boolean reserveWorstCase) {

    public EngineConfig {
        if (blockSize < 1 || maxBatchPrefillTokens < 1 || maxBatchTotalTokens < blockSize || maxActiveAdapters < 1) {
            throw new IllegalArgumentException("invalid engine budgets: total " + maxBatchTotalTokens
                    + ", prefill " + maxBatchPrefillTokens + ", block " + blockSize + ", active adapters " + maxActiveAdapters);
        }
    }

    /** With prefix caching on. */
    public EngineConfig(int maxBatchTotalTokens, int maxBatchPrefillTokens, int blockSize, int maxActiveAdapters,
                        long adapterCycleNanos, dev.loraxj.backend.MedusaHeads medusa, int speculativeTokens, int speculativeMaxBatch) {
        this(maxBatchTotalTokens, maxBatchPrefillTokens, blockSize, maxActiveAdapters, adapterCycleNanos, medusa, speculativeTokens,
                speculativeMaxBatch, true, false);
    }

    /** With prefix caching on or off, KV on demand. */
    public EngineConfig(int maxBatchTotalTokens, int maxBatchPrefillTokens, int blockSize, int maxActiveAdapters,
                        long adapterCycleNanos, dev.loraxj.backend.MedusaHeads medusa, int speculativeTokens, int speculativeMaxBatch,
                        boolean prefixCaching) {
        this(maxBatchTotalTokens, maxBatchPrefillTokens, blockSize, maxActiveAdapters, adapterCycleNanos, medusa, speculativeTokens,
                speculativeMaxBatch, prefixCaching, false);
    }

    /** The same budgets, reserving each sequence's worst case at admission (true) or taking KV on demand (false). */
    public EngineConfig withWorstCaseReservation(boolean on) {
        return new EngineConfig(maxBatchTotalTokens, maxBatchPrefillTokens, blockSize, maxActiveAdapters, adapterCycleNanos, medusa,
                speculativeTokens, speculativeMaxBatch, prefixCaching, on);
    }

    /** The same budgets with prefix caching on or off. */
    public EngineConfig withPrefixCaching(boolean on) {
        return new EngineConfig(maxBatchTotalTokens, maxBatchPrefillTokens, blockSize, maxActiveAdapters, adapterCycleNanos, medusa,
                speculativeTokens, speculativeMaxBatch, on, reserveWorstCase);
    }

    /** Budgets with LoRAX's adapter defaults (1024 active adapters, 2 s cycle) and no speculation. */
    public EngineConfig(int maxBatchTotalTokens, int maxBatchPrefillTokens, int blockSize) {
        this(maxBatchTotalTokens, maxBatchPrefillTokens, blockSize, 1024, 2_000_000_000L);
    }

    /** Budgets without speculation. */
    public EngineConfig(int maxBatchTotalTokens, int maxBatchPrefillTokens, int blockSize, int maxActiveAdapters,
                        long adapterCycleNanos) {
        this(maxBatchTotalTokens, maxBatchPrefillTokens, blockSize, maxActiveAdapters, adapterCycleNanos, null, 0, 0);
    }
}

package dev.loraxj.service;

import dev.loraxj.adapter.AdapterAccess;
import dev.loraxj.adapter.AdapterCatalog;
import dev.loraxj.adapter.AdapterStore;
import dev.loraxj.backend.Backend;
import dev.loraxj.backend.BackendFactory;
import dev.loraxj.engine.Engine;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.Tokenizer;

/**
 * Everything that serves the base model once it is loaded.
 *
 * @param kvCacheMemory the KV cache's memory budget in bytes (loraxj.kv-cache-memory, or its default)
 */
public record ModelRuntime(
        String modelId,
        Checkpoint checkpoint,
        Tokenizer tokenizer,
        Backend backend,
        BackendFactory.Choice device,
        long kvCacheMemory,
        Engine engine,
        Limits limits,
        AdapterCatalog catalog,
        AdapterStore adapters,
        AdapterAccess access,
        Preloads preloads,
        RuntimeAdapters runtimeAdapters,
        Speculation speculation,
        java.util.concurrent.ExecutorService adapterLoaders,
        AutoCloseable computePool,
        ConstraintCache constraints) implements AutoCloseable {

    /** Bytes the KV cache holds: every block's slots, all layers, K and V. */
    public long kvCacheBytes() {
        return (long) engine.totalBlocks() * limits.kvBlockSize() * backend.kvBytesPerToken();
    }

    @Override
    public void close() {
        preloads.close();
        engine.close();
        adapterLoaders.shutdownNow();
        constraints.close();
        backend.close();
        try {
            computePool.close();
        } catch (Exception ignored) {
            // the pool's threads are daemons; nothing else to release
        }
        tokenizer.close();
        checkpoint.close();
    }
}

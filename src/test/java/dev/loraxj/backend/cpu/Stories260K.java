package dev.loraxj.backend.cpu;

import dev.loraxj.SharedAssets;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;

/** The real stories260K model on the CPU backend, for tests: open once per class, close after. */
record Stories260K(Checkpoint ckpt, ModelConfig cfg, Parallel pool, CpuBackend backend) implements AutoCloseable {

    static Stories260K open() {
        Checkpoint ckpt = Checkpoint.open(SharedAssets.stories260K());
        ModelConfig cfg = ModelConfig.load(SharedAssets.stories260K());
        Parallel pool = new Parallel(2);
        return new Stories260K(ckpt, cfg, pool, CpuBackend.load(ckpt, cfg, pool));
    }

    @Override
    public void close() {
        backend.close();
        pool.close();
        ckpt.close();
    }
}

package dev.loraxj.backend.cpu;

import dev.loraxj.backend.Backend;
import dev.loraxj.backend.BackendContract;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;
import org.junit.jupiter.api.AfterAll;

/** The CPU backend keeps the contract every backend keeps, bitwise where the batch is concerned. */
class CpuBackendContractTest extends BackendContract {

    private Parallel pool;

    @Override
    protected Backend open(Checkpoint ckpt, ModelConfig cfg) {
        pool = new Parallel(2);
        return CpuBackend.load(ckpt, cfg, pool);
    }

    @AfterAll
    void closePool() {
        pool.close();
    }
}

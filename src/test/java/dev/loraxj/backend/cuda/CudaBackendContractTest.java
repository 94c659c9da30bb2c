package dev.loraxj.backend.cuda;

import dev.loraxj.backend.Backend;
import dev.loraxj.backend.BackendContract;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The CUDA backend keeps the contract every backend keeps, within bf16's rounding. Skips, saying
 * why, where no CUDA device answers or JCuda does not load (every CPU-only machine).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CudaBackendContractTest extends BackendContract {

    private static final Logger LOG = Logger.getLogger(CudaBackendContractTest.class);

    @BeforeAll
    @Override
    protected void openBackend() {
        CudaProbe.Answer a = CudaProbe.probe();
        String why = a.present() ? CudaBackend.unavailable() : a.reason();
        if (why != null) {
            LOG.warnf("CUDA backend contract skipped: %s", why);
        }
        Assumptions.assumeTrue(why == null, "CUDA backend contract skipped: " + why);
        super.openBackend();
    }

    @Override
    protected Backend open(Checkpoint ckpt, ModelConfig cfg) {
        return CudaBackend.load(ckpt, cfg, null);
    }

    /**
     * stories260K's F32 weights and every GEMM input (norm outputs, attention, SiLU·up) rounded to bf16
     * (8 significant bits, 2^-9 relative) through 5 layers: about 1% of the logits' range of 20.
     */
    @Override
    protected float goldenTolerance() {
        return 0.25f;
    }

    /**
     * gemv (up to 8 rows) and the tensor-core GEMM (more) sum in different orders, float32 rounding that
     * can tip a bf16 rounding of the next activation (2^-8 relative) in a few elements.
     */
    @Override
    protected float batchTolerance() {
        return 0.05f;
    }
}

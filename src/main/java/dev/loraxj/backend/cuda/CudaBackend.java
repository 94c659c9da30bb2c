package dev.loraxj.backend.cuda;

import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.Backend;
import dev.loraxj.backend.LoraShape;
import dev.loraxj.backend.LoraUpdate;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.backend.StepBatch;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.ModelException;
import dev.loraxj.model.PreQuantized;

import java.util.List;

/**
 * The Llama family on an NVIDIA GPU through JCuda's driver API and our own PTX (src/main/native):
 * weights uploaded once as bf16, a paged bf16 KV cache, adapters in device slots with pinned host
 * copies behind them (uploaded on their own stream), logits copied back only for the rows that want
 * them. Rows of a batch are computed independently, but the linear's kernel (gemv for up to 8 rows,
 * the tensor-core GEMM above) depends on the batch, so a row may move by float rounding with it.
 */
public final class CudaBackend implements Backend {

    /** Device memory kept back from the KV cache's share for activations, logits and adapter uploads. */
    static final long WORKSPACE = 2L << 30;

    private final ModelConfig cfg;
    private final CudaDriver driver;
    private final DeviceWeights weights;
    private final CudaForward forward;
    private final CudaMedusa medusa;

    private CudaBackend(ModelConfig cfg, CudaDriver driver, CudaKernels kernels, DeviceWeights weights) {
        this.cfg = cfg;
        this.driver = driver;
        this.weights = weights;
        this.forward = new CudaForward(cfg, weights, driver, kernels);
        this.medusa = new CudaMedusa(cfg, driver, kernels, weights.head);
    }

    /** Why this backend cannot run here (JCuda's binding or the driver), or null when it can. */
    public static String unavailable() {
        return CudaDriver.unavailable();
    }

    /** Uploads the checkpoint's weights to device 0; {@code quantize} must be null (the kernels are bf16). */
    public static CudaBackend load(Checkpoint ckpt, ModelConfig cfg, DType quantize) {
        supported(ckpt, cfg, quantize);
        CudaDriver driver = CudaDriver.open(0);
        try {
            CudaKernels kernels = new CudaKernels(driver);
            return new CudaBackend(cfg, driver, kernels, DeviceWeights.upload(ckpt, cfg, driver));
        } catch (RuntimeException e) {
            driver.close();
            throw e;
        }
    }

    /** A random model of {@code cfg}'s shape generated on device 0 (benchmarks: no checkpoint, no PCIe). */
    public static CudaBackend random(ModelConfig cfg, int seed) {
        supported(null, cfg, null);
        CudaDriver driver = CudaDriver.open(0);
        try {
            CudaKernels kernels = new CudaKernels(driver);
            return new CudaBackend(cfg, driver, kernels, DeviceWeights.random(cfg, driver, kernels, seed));
        } catch (RuntimeException e) {
            driver.close();
            throw e;
        }
    }

    private static void supported(Checkpoint ckpt, ModelConfig cfg, DType quantize) {
        if (quantize != null) {
            throw new ModelException("loraxj.quantize=" + quantize.torchName() + ": the CUDA backend holds weights in bfloat16;"
                    + " set loraxj.quantize=none, or loraxj.device=cpu");
        }
        if (ckpt != null && PreQuantized.load(ckpt.dir()).isPresent()) {
            throw new ModelException(ckpt.dir() + " is a GPTQ/AWQ checkpoint: the CUDA backend reads F32, F16 and BF16 weights;"
                    + " use loraxj.device=cpu");
        }
        if (cfg.attentionBias() || cfg.oProjBias() || cfg.mlpBias()) {
            throw new ModelException(cfg.modelType() + " with biased linears: the CUDA backend has no bias kernels yet; use loraxj.device=cpu");
        }
        if (cfg.slidingWindow() > 0 && cfg.slidingWindow() < cfg.maxPositionEmbeddings()) {
            throw new ModelException("sliding-window attention (" + cfg.slidingWindow() + "): the CUDA backend attends to the whole"
                    + " context; use loraxj.device=cpu");
        }
        LaunchGrid.attention(1, cfg.numHeads(), cfg.numKvHeads(), cfg.headDim()); // the attention kernel's limits
    }

    /** The device's name and compute capability, as the driver gives them. */
    public String device() {
        return driver.name + " (sm_" + driver.major + driver.minor + ")";
    }

    /** HBM bandwidth from the driver's clock and bus width, bytes per second. */
    public double peakBandwidth() {
        return driver.peakBandwidth;
    }

    @Override
    public ModelConfig config() {
        return cfg;
    }

    @Override
    public String deviceType() {
        return "cuda";
    }

    @Override
    public String dtype() {
        return DType.BF16.torchName();
    }

    @Override
    public String linearDtype() {
        return DType.BF16.torchName();
    }

    @Override
    public long weightBytes() {
        return weights.linearBytes();
    }

    @Override
    public long kvBytesPerToken() {
        return 2L * cfg.numLayers() * cfg.kvDim() * DType.BF16.bytes();
    }

    @Override
    public String kvDtype() {
        return DType.BF16.torchName();
    }

    @Override
    public void kvDtype(DType dtype) {
        if (dtype != DType.BF16) {
            throw new IllegalArgumentException("the CUDA KV cache holds bfloat16 (the attention kernels read it), not "
                    + dtype.torchName() + ": set loraxj.kv-cache-dtype=bfloat16");
        }
    }

    @Override
    public long freeMemory() {
        return Math.max(0, driver.freeMemory() - WORKSPACE);
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {
        forward.allocateKvCache(numBlocks, blockSize);
    }

    @Override
    public void forward(StepBatch batch) {
        forward.forward(batch);
    }

    @Override
    public float[] finalHidden() {
        return forward.finalHidden();
    }

    @Override
    public void medusa(MedusaHeads heads, float[] x, int rows, float[] out) {
        medusa.apply(heads, x, rows, out);
    }

    @Override
    public AdapterFootprint footprint(List<LoraShape> shapes) {
        return SlotLayout.footprint(shapes);
    }

    @Override
    public AdapterSlot register(List<LoraUpdate> updates) {
        return CudaLora.upload(updates, cfg.numLayers(), driver);
    }

    @Override
    public void release(AdapterSlot slot) {
        if (!(slot instanceof CudaLora lora) || lora.driver() != driver) {
            throw new IllegalArgumentException(slot + " was not registered with this CUDA backend");
        }
        lora.release();
    }

    /** Device-to-device copy bandwidth over {@code bytes} (read + write), bytes per second: the roofline a decode step is held to. */
    public double copyBandwidth(long bytes) {
        return driver.copyBandwidth(bytes);
    }

    /** Median seconds of the pinned-to-device copy of an adapter of {@code updates}, once packed. */
    public double uploadSeconds(List<LoraUpdate> updates) {
        CudaLora slot = CudaLora.upload(updates, cfg.numLayers(), driver);
        try {
            double[] t = new double[5];
            for (int i = 0; i < t.length; i++) {
                t[i] = slot.recopySeconds();
            }
            java.util.Arrays.sort(t);
            return t[t.length / 2];
        } finally {
            slot.release();
        }
    }

    @Override
    public void close() {
        driver.current();
        medusa.close();
        forward.close();
        weights.close();
        driver.close();
    }
}

package dev.loraxj.backend.cpu;

import dev.loraxj.model.DType;

import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.Backend;
import dev.loraxj.backend.LoraShape;
import dev.loraxj.backend.LoraUpdate;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.backend.StepBatch;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;

import java.util.List;

/**
 * The Llama family on the CPU with the JDK Vector API. Weights are read in place from the mmap'd
 * checkpoint (F32, BF16; F16 widened once), the KV cache is paged float32, and every output is
 * computed in an order that does not depend on the batch, the thread count or prefill chunking.
 * The pool belongs to the caller, and the checkpoint must stay open while the backend is used.
 */
public final class CpuBackend implements Backend {

    private final ModelConfig cfg;
    private final LlamaWeights weights;
    private final LlamaForward forward;
    private final MedusaKernel medusa;
    private KvCache cache;
    private DType kvDtype = DType.F32;

    private CpuBackend(ModelConfig cfg, LlamaWeights weights, Parallel pool) {
        this.cfg = cfg;
        this.weights = weights;
        this.forward = new LlamaForward(cfg, weights, pool);
        this.medusa = new MedusaKernel(cfg, forward, pool);
    }

    /** Checks every tensor's shape against {@code cfg} and maps the weights; throws ModelException on a mismatch. */
    public static CpuBackend load(Checkpoint ckpt, ModelConfig cfg, Parallel pool) {
        return load(ckpt, cfg, pool, null);
    }

    /** As above, quantizing the block linears and the head at load ({@code quantize}: null for none, {@link DType#I8} or {@link DType#I4}). */
    public static CpuBackend load(Checkpoint ckpt, ModelConfig cfg, Parallel pool, DType quantize) {
        return load(ckpt, cfg, pool, quantize, true);
    }

    /** As above; {@code quantizeHead} false keeps the output head in the checkpoint's dtype. */
    public static CpuBackend load(Checkpoint ckpt, ModelConfig cfg, Parallel pool, DType quantize, boolean quantizeHead) {
        return new CpuBackend(cfg, LlamaWeights.load(ckpt, cfg, quantize, quantizeHead), pool);
    }

    @Override
    public String linearDtype() {
        return weights.linearLabel();
    }

    @Override
    public ModelConfig config() {
        return cfg;
    }

    @Override
    public String deviceType() {
        return "cpu";
    }

    @Override
    public String dtype() {
        return weights.dtype().torchName();
    }

    @Override
    public long kvBytesPerToken() {
        return 2L * cfg.numLayers() * cfg.kvDim() * kvDtype.bytes();
    }

    @Override
    public String kvDtype() {
        return kvDtype.torchName();
    }

    @Override
    public void kvDtype(DType dtype) {
        if (dtype != DType.F32 && dtype != DType.BF16) {
            throw new IllegalArgumentException("the KV cache holds float32 or bfloat16, not " + dtype.torchName());
        }
        this.kvDtype = dtype;
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {
        if (cache != null) {
            cache.close();
            cache = null;
        }
        cache = new KvCache(cfg.numLayers(), numBlocks, blockSize, cfg.numKvHeads(), cfg.headDim(), kvDtype);
    }

    @Override
    public void forward(StepBatch batch) {
        forward.forward(batch, cache);
    }

    @Override
    public long weightBytes() {
        return weights.weightBytesPerToken();
    }

    /** Bytes of weights one decode step streams from memory per token (all linears and the head). */
    public long weightBytesPerToken() {
        return weights.weightBytesPerToken();
    }

    /** Host memory available less the weights' bytes, which must stay resident (mapped pages count as available). */
    @Override
    public long freeMemory() {
        return Math.max(0, HostMemory.available() - weights.weightBytesPerToken());
    }

    @Override
    public AdapterFootprint footprint(List<LoraShape> shapes) {
        return CpuLora.footprint(shapes);
    }

    @Override
    public AdapterSlot register(List<LoraUpdate> updates) {
        return CpuLora.of(updates, cfg.numLayers());
    }

    @Override
    public void release(AdapterSlot slot) {
        if (!(slot instanceof CpuLora lora)) {
            throw new IllegalArgumentException(slot + " was not registered with the CPU backend");
        }
        lora.release();
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
    public void close() {
        if (cache != null) {
            cache.close();
            cache = null;
        }
        weights.close();
    }
}

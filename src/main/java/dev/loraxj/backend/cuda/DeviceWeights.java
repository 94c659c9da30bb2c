package dev.loraxj.backend.cuda;

import dev.loraxj.backend.LinearModule;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A Llama-family model's weights in device memory, bf16, in one allocation uploaded once: per layer
 * the two norms, q, k, v, o, gate and up stacked as one {@code [2 * ffn, hidden]} matrix (one GEMM
 * feeds silu_mul's {@code [gate | up]} rows), down; the embeddings, the final norm, the head (the
 * embeddings themselves when tied) and RoPE's inverse frequencies (float32). Addresses are raw.
 */
final class DeviceWeights implements AutoCloseable {

    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long STAGING = 32L << 20;

    /** Per layer: [inputNorm, q, k, v, o, postNorm, gateUp, down]. */
    static final int INPUT_NORM = 0, Q = 1, K = 2, V = 3, O = 4, POST_NORM = 5, GATE_UP = 6, DOWN = 7;

    final long[][] layers;
    final long embed;
    final long finalNorm;
    final long head;
    final long invFreq;
    /** Whether each layer's q, k and v sit back to back, one [q + 2 kv, hidden] matrix (a single-row step runs them as one gemv). */
    final boolean qkvAdjacent;
    private final long linearBytes;
    private final CudaDriver driver;
    private final CudaDriver.DeviceBuffer memory;

    private DeviceWeights(ModelConfig cfg, CudaDriver driver) {
        this.driver = driver;
        int h = cfg.hiddenSize();
        long[] sizes = layerSizes(cfg);
        long embedBytes = SlotLayout.align(2L * cfg.vocabSize() * h);
        long perLayer = 0;
        for (long size : sizes) {
            perLayer += SlotLayout.align(size);
        }
        long total = perLayer * cfg.numLayers() + embedBytes * (cfg.tieWordEmbeddings() ? 1 : 2) + SlotLayout.align(2L * h)
                + SlotLayout.align(4L * cfg.ropeInvFreq().length);
        memory = driver.alloc(total);
        long at = memory.address();
        layers = new long[cfg.numLayers()][sizes.length];
        for (long[] layer : layers) {
            for (int i = 0; i < sizes.length; i++) {
                layer[i] = at;
                at += SlotLayout.align(sizes[i]);
            }
        }
        embed = at;
        at += embedBytes;
        finalNorm = at;
        at += SlotLayout.align(2L * h);
        invFreq = at;
        at += SlotLayout.align(4L * cfg.ropeInvFreq().length);
        head = cfg.tieWordEmbeddings() ? embed : at;
        qkvAdjacent = SlotLayout.align(sizes[Q]) == sizes[Q] && SlotLayout.align(sizes[K]) == sizes[K];
        linearBytes = (sizes[Q] + sizes[K] + sizes[V] + sizes[O] + sizes[GATE_UP] + sizes[DOWN]) * cfg.numLayers() + 2L * cfg.vocabSize() * h;
    }

    /** Bytes of each tensor of a layer, indexed as {@link #layers}. */
    private static long[] layerSizes(ModelConfig c) {
        int h = c.hiddenSize();
        long[] s = new long[8];
        s[INPUT_NORM] = 2L * h;
        s[Q] = 2L * c.qDim() * h;
        s[K] = 2L * c.kvDim() * h;
        s[V] = 2L * c.kvDim() * h;
        s[O] = 2L * h * c.qDim();
        s[POST_NORM] = 2L * h;
        s[GATE_UP] = 4L * c.intermediateSize() * h;
        s[DOWN] = 2L * h * c.intermediateSize();
        return s;
    }

    /** Uploads the checkpoint's tensors (F32, F16 or BF16) as bf16, through a pinned staging buffer. */
    static DeviceWeights upload(Checkpoint ckpt, ModelConfig cfg, CudaDriver driver) {
        DeviceWeights w = new DeviceWeights(cfg, driver);
        CudaDriver.HostBuffer staging = driver.pinned(STAGING);
        try {
            int h = cfg.hiddenSize();
            int ffn = cfg.intermediateSize();
            for (int l = 0; l < cfg.numLayers(); l++) {
                String p = "model.layers." + l + ".";
                long[] at = w.layers[l];
                w.put(staging, ckpt.tensor(p + "input_layernorm.weight", h), at[INPUT_NORM]);
                w.put(staging, ckpt.tensor(p + LinearModule.Q.path() + ".weight", cfg.qDim(), h), at[Q]);
                w.put(staging, ckpt.tensor(p + LinearModule.K.path() + ".weight", cfg.kvDim(), h), at[K]);
                w.put(staging, ckpt.tensor(p + LinearModule.V.path() + ".weight", cfg.kvDim(), h), at[V]);
                w.put(staging, ckpt.tensor(p + LinearModule.O.path() + ".weight", h, cfg.qDim()), at[O]);
                w.put(staging, ckpt.tensor(p + "post_attention_layernorm.weight", h), at[POST_NORM]);
                w.put(staging, ckpt.tensor(p + LinearModule.GATE.path() + ".weight", ffn, h), at[GATE_UP]);
                w.put(staging, ckpt.tensor(p + LinearModule.UP.path() + ".weight", ffn, h), at[GATE_UP] + 2L * ffn * h);
                w.put(staging, ckpt.tensor(p + LinearModule.DOWN.path() + ".weight", h, ffn), at[DOWN]);
            }
            w.put(staging, ckpt.tensor("model.embed_tokens.weight", cfg.vocabSize(), h), w.embed);
            w.put(staging, ckpt.tensor("model.norm.weight", h), w.finalNorm);
            if (!cfg.tieWordEmbeddings()) {
                w.put(staging, ckpt.tensor("lm_head.weight", cfg.vocabSize(), h), w.head);
            }
            w.invFreq(staging, cfg);
            return w;
        } catch (RuntimeException e) {
            w.close();
            throw e;
        } finally {
            driver.free(staging);
        }
    }

    /**
     * A random model of {@code cfg}'s shape made on the device (no PCIe): linears uniform with the
     * spread {@code 1/sqrt(in)} keeps activations bounded through the layers, norms 1. For benchmarks.
     */
    static DeviceWeights random(ModelConfig cfg, CudaDriver driver, CudaKernels kernels, int seed) {
        DeviceWeights w = new DeviceWeights(cfg, driver);
        int h = cfg.hiddenSize();
        int ffn = cfg.intermediateSize();
        int n = 0;
        for (long[] at : w.layers) {
            kernels.fillRandom(at[INPUT_NORM], h, seed + n++, 0f, 1f);
            kernels.fillRandom(at[Q], (long) cfg.qDim() * h, seed + n++, inverseRoot(h), 0f);
            kernels.fillRandom(at[K], (long) cfg.kvDim() * h, seed + n++, inverseRoot(h), 0f);
            kernels.fillRandom(at[V], (long) cfg.kvDim() * h, seed + n++, inverseRoot(h), 0f);
            kernels.fillRandom(at[O], (long) h * cfg.qDim(), seed + n++, inverseRoot(cfg.qDim()), 0f);
            kernels.fillRandom(at[POST_NORM], h, seed + n++, 0f, 1f);
            kernels.fillRandom(at[GATE_UP], 2L * ffn * h, seed + n++, inverseRoot(h), 0f);
            kernels.fillRandom(at[DOWN], (long) h * ffn, seed + n++, inverseRoot(ffn), 0f);
        }
        kernels.fillRandom(w.embed, (long) cfg.vocabSize() * h, seed + n++, 1f, 0f);
        kernels.fillRandom(w.finalNorm, h, seed + n++, 0f, 1f);
        if (!cfg.tieWordEmbeddings()) {
            kernels.fillRandom(w.head, (long) cfg.vocabSize() * h, seed + n, inverseRoot(h), 0f);
        }
        CudaDriver.HostBuffer staging = driver.pinned(4L * cfg.ropeInvFreq().length);
        try {
            w.invFreq(staging, cfg);
        } finally {
            driver.free(staging);
        }
        driver.sync(driver.compute);
        return w;
    }

    private static float inverseRoot(int in) {
        return (float) (1 / Math.sqrt(in));
    }

    private void invFreq(CudaDriver.HostBuffer staging, ModelConfig cfg) {
        float[] f = cfg.ropeInvFreq();
        MemorySegment.copy(f, 0, staging.segment(), F32, 0, f.length);
        driver.copyIn(memory, invFreq - memory.address(), staging.ptr(), 4L * f.length);
    }

    /** One tensor to bf16 at {@code address}, a staging buffer's worth at a time. */
    private void put(CudaDriver.HostBuffer staging, Tensor t, long address) {
        long n = t.numel();
        long chunk = STAGING / 2;
        MemorySegment src = t.data();
        for (long from = 0; from < n; from += chunk) {
            long count = Math.min(chunk, n - from);
            MemorySegment dst = staging.segment();
            switch (t.dtype()) {
                case BF16 -> MemorySegment.copy(src, 2 * from, dst, 0, 2 * count);
                case F32 -> {
                    for (long i = 0; i < count; i++) {
                        dst.set(BF16, 2 * i, DType.floatToBf16(src.get(F32, 4 * (from + i))));
                    }
                }
                case F16 -> {
                    for (long i = 0; i < count; i++) {
                        dst.set(BF16, 2 * i, DType.floatToBf16(Float.float16ToFloat(src.get(BF16, 2 * (from + i)))));
                    }
                }
                default -> throw new IllegalArgumentException(t.name() + ": the CUDA backend reads F32, F16 and BF16 weights, not "
                        + t.dtype().torchName());
            }
            driver.copyIn(memory, address - memory.address() + 2 * from, staging.ptr(), 2 * count);
        }
    }

    /** Bytes a decode step streams: every linear and the head, bf16. */
    long linearBytes() {
        return linearBytes;
    }

    /** Bytes of the whole allocation. */
    long bytes() {
        return memory.bytes();
    }

    @Override
    public void close() {
        driver.free(memory);
    }
}

package dev.loraxj.backend.cuda;

import dev.loraxj.backend.LinearModule;
import dev.loraxj.backend.StepBatch;
import dev.loraxj.model.ModelConfig;
import jcuda.Pointer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One engine step on the device, top to bottom like the CPU's LlamaForward: embed, then per block
 * RMSNorm → q/k/v (+LoRA) → RoPE → KV write → paged attention → o (+LoRA) → residual → RMSNorm →
 * gate|up (+LoRA) → SiLU·up → down (+LoRA) → residual; the final norm, and the head over the logit
 * rows only, whose logits alone are copied to the host. The step's tables and SGMV plan reach the
 * device in two copies on the compute stream, ahead of the kernels that read them.
 */
final class CudaForward implements AutoCloseable {

    private final ModelConfig cfg;
    private final DeviceWeights w;
    private final CudaDriver driver;
    private final CudaKernels kernels;
    private final StepTables tables = new StepTables();
    private final SgmvPlan plan = new SgmvPlan();
    private final float attentionScale;

    private CudaDriver.DeviceBuffer kv;
    private int numBlocks;
    private int blockSize;
    private long layerKvBytes;

    private int capacity;
    private CudaDriver.DeviceBuffer activations;
    private long x, xn, q, k, v, att, tmp, gateUp, act, shrunk; // addresses in `activations`
    private int rowCapacity;
    private CudaDriver.DeviceBuffer rowBuffers;
    private long finalRows, logits;
    private CudaDriver.DeviceBuffer stepInts;
    private CudaDriver.DeviceBuffer planInts;
    private CudaDriver.DeviceBuffer planLongs;
    private final Staging staging;

    private int hiddenRows;
    private float[] hidden = new float[0];
    private boolean hiddenFresh;

    CudaForward(ModelConfig cfg, DeviceWeights w, CudaDriver driver, CudaKernels kernels) {
        this.cfg = cfg;
        this.w = w;
        this.driver = driver;
        this.kernels = kernels;
        this.staging = new Staging(driver);
        this.attentionScale = (float) (1 / Math.sqrt(cfg.headDim()));
    }

    /** The paged KV cache: per layer K then V, each {@code [block][slot][kvHead][headDim]} bf16, zeroed. */
    void allocateKvCache(int numBlocks, int blockSize) {
        driver.free(kv);
        kv = null;
        this.layerKvBytes = 2L * numBlocks * blockSize * cfg.kvDim();
        kv = driver.alloc(2 * cfg.numLayers() * layerKvBytes);
        driver.zero(kv);
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
    }

    void forward(StepBatch b) {
        if (kv == null) {
            throw new IllegalStateException("forward before allocateKvCache");
        }
        b.validate(cfg.vocabSize(), blockSize, numBlocks);
        int T = b.numTokens();
        if (T == 0) {
            return;
        }
        driver.current();
        plan.build(b, cfg.numLayers()); // refuses released slots before any work is queued
        tables.build(b, blockSize);
        grow(T);
        int rows = b.numLogitRows();
        growRows(Math.max(rows, 1));
        stepInts = staging.upload(stepInts, 0, tables.ints(), tables.size());
        if (plan.active()) {
            planInts = staging.upload(planInts, 1, plan.ints(), plan.intCount(cfg.numLayers()));
            planLongs = staging.upload(planLongs, 2, plan.longs(), plan.longCount(cfg.numLayers()));
        }
        int h = cfg.hiddenSize();
        kernels.embedGather(w.embed, ints(tables.tokensAt()), x, T, h);
        for (int l = 0; l < cfg.numLayers(); l++) {
            block(l, T);
        }
        hiddenRows = rows;
        hiddenFresh = false;
        if (rows > 0) {
            kernels.rmsnorm(x, w.finalNorm, xn, T, h, cfg.rmsNormEps());
            kernels.gatherRows(xn, ints(tables.logitRowsAt()), finalRows, rows, h);
            kernels.linear(w.head, finalRows, logits, rows, h, cfg.vocabSize());
            driver.copyOut(Pointer.to(b.logitsBuffer()), rowBuffers, logits - rowBuffers.address(), 4L * rows * cfg.vocabSize());
        }
        driver.sync(driver.compute); // the staging buffers are reused by the next step
    }

    private long ints(int index) {
        return stepInts.address() + 4L * index;
    }

    private void block(int l, int T) {
        long[] lw = w.layers[l];
        int h = cfg.hiddenSize();
        int qd = cfg.qDim();
        int kvd = cfg.kvDim();
        int ffn = cfg.intermediateSize();
        float eps = cfg.rmsNormEps();
        long kc = kv.address() + 2L * l * layerKvBytes;
        long vc = kc + layerKvBytes;
        long positions = ints(tables.positionsAt());
        long tokenSeq = ints(tables.tokenSeqAt());
        long blockTables = ints(tables.tablesAt());

        kernels.rmsnorm(x, lw[DeviceWeights.INPUT_NORM], xn, T, h, eps);
        // one row: q, k and v are one [q | k | v] row, so one gemv over the stacked weights (the same sums, two launches fewer)
        boolean fused = T == 1 && w.qkvAdjacent;
        long k = fused ? q + 4L * qd : this.k;
        long v = fused ? k + 4L * kvd : this.v;
        if (fused) {
            kernels.linear(lw[DeviceWeights.Q], xn, q, 1, h, qd + 2 * kvd);
        } else {
            kernels.linear(lw[DeviceWeights.Q], xn, q, T, h, qd);
            kernels.linear(lw[DeviceWeights.K], xn, k, T, h, kvd);
            kernels.linear(lw[DeviceWeights.V], xn, v, T, h, kvd);
        }
        lora(l, LinearModule.Q, xn, h, q, qd, qd, T);
        lora(l, LinearModule.K, xn, h, k, kvd, kvd, T);
        lora(l, LinearModule.V, xn, h, v, kvd, kvd, T);
        kernels.rope(q, k, positions, w.invFreq, T, cfg.numHeads(), cfg.numKvHeads(), cfg.headDim());
        kernels.kvStore(k, v, kc, vc, tokenSeq, positions, blockTables, T, tables.maxBlocks(), blockSize, kvd);
        kernels.attention(q, att, kc, vc, tokenSeq, positions, blockTables, T, tables.maxBlocks(), blockSize, cfg.numHeads(),
                cfg.numKvHeads(), cfg.headDim(), attentionScale);
        kernels.linear(lw[DeviceWeights.O], att, tmp, T, qd, h);
        lora(l, LinearModule.O, att, qd, tmp, h, h, T);
        kernels.residualAdd(x, tmp, (long) T * h);

        kernels.rmsnorm(x, lw[DeviceWeights.POST_NORM], xn, T, h, eps);
        kernels.linear(lw[DeviceWeights.GATE_UP], xn, gateUp, T, h, 2 * ffn);
        lora(l, LinearModule.GATE, xn, h, gateUp, ffn, 2 * ffn, T);
        lora(l, LinearModule.UP, xn, h, gateUp + 4L * ffn, ffn, 2 * ffn, T);
        kernels.siluMul(gateUp, act, ffn, T);
        kernels.linear(lw[DeviceWeights.DOWN], act, tmp, T, ffn, h);
        lora(l, LinearModule.DOWN, act, ffn, tmp, h, h, T);
        kernels.residualAdd(x, tmp, (long) T * h);
    }

    /** SGMV on this linear's segments: shrink into [T, stride], expand into y's columns (row stride ldy). */
    private void lora(int l, LinearModule m, long input, int in, long y, int out, int ldy, int T) {
        int segments = plan.count(l, m);
        if (segments == 0) {
            return;
        }
        long ints = planInts.address();
        long longs = planLongs.address();
        long starts = ints + 4L * plan.intIndex(l, m, SgmvPlan.STARTS);
        long ends = ints + 4L * plan.intIndex(l, m, SgmvPlan.ENDS);
        long ranks = ints + 4L * plan.intIndex(l, m, SgmvPlan.RANKS);
        long scales = ints + 4L * plan.intIndex(l, m, SgmvPlan.SCALES);
        int stride = plan.stride(l, m);
        kernels.shrink(input, shrunk, starts, ends, ranks, longs + 8L * plan.longIndex(l, m, SgmvPlan.A_PTRS), scales, in, stride,
                segments, plan.maxPairs(l, m));
        kernels.expand(shrunk, y, starts, ends, ranks, longs + 8L * plan.longIndex(l, m, SgmvPlan.BT_PTRS), out, ldy, stride,
                segments, plan.maxRows(l, m));
    }

    /** The final-normed hidden states of the last step's logit rows (bf16, as the head saw them), widened. */
    float[] finalHidden() {
        int n = hiddenRows * cfg.hiddenSize();
        if (!hiddenFresh && n > 0) {
            short[] bits = new short[n];
            driver.current();
            driver.copyOut(Pointer.to(bits), rowBuffers, finalRows - rowBuffers.address(), 2L * n);
            if (hidden.length < n) {
                hidden = new float[n];
            }
            for (int i = 0; i < n; i++) {
                hidden[i] = Float.intBitsToFloat((bits[i] & 0xFFFF) << 16);
            }
            hiddenFresh = true;
        }
        return hidden;
    }

    private void grow(int T) {
        if (T <= capacity) {
            return;
        }
        int n = Math.max(Math.max(T, capacity * 2), 16); // 16 rows of q hold a single row's [q | k | v]
        int h = cfg.hiddenSize();
        long[] bytes = {4L * n * h, 2L * n * h, 4L * n * cfg.qDim(), 4L * n * cfg.kvDim(), 4L * n * cfg.kvDim(), 2L * n * cfg.qDim(),
                4L * n * h, 8L * n * cfg.intermediateSize(), 2L * n * cfg.intermediateSize(), 4L * n * LaunchGrid.MAX_RANK};
        long[] at = new long[bytes.length];
        long total = 0;
        for (int i = 0; i < bytes.length; i++) {
            at[i] = total;
            total += SlotLayout.align(bytes[i]);
        }
        driver.sync(driver.compute);
        driver.free(activations);
        activations = null;
        activations = driver.alloc(total);
        long base = activations.address();
        x = base + at[0];
        xn = base + at[1];
        q = base + at[2];
        k = base + at[3];
        v = base + at[4];
        att = base + at[5];
        tmp = base + at[6];
        gateUp = base + at[7];
        act = base + at[8];
        shrunk = base + at[9];
        capacity = n;
    }

    private void growRows(int rows) {
        if (rows <= rowCapacity) {
            return;
        }
        int n = Math.max(rows, rowCapacity * 2);
        long hiddenBytes = SlotLayout.align(2L * n * cfg.hiddenSize());
        driver.sync(driver.compute);
        driver.free(rowBuffers);
        rowBuffers = null;
        rowBuffers = driver.alloc(hiddenBytes + 4L * n * cfg.vocabSize());
        finalRows = rowBuffers.address();
        logits = finalRows + hiddenBytes;
        rowCapacity = n;
    }

    @Override
    public void close() {
        driver.free(kv);
        driver.free(activations);
        driver.free(rowBuffers);
        driver.free(stepInts);
        driver.free(planInts);
        driver.free(planLongs);
        staging.close();
        kv = activations = rowBuffers = stepInts = planInts = planLongs = null;
    }

    /** Device copies of host arrays through pinned buffers (one per use), async on the compute stream, grown as needed. */
    static final class Staging implements AutoCloseable {

        private final CudaDriver driver;
        private final CudaDriver.HostBuffer[] host = new CudaDriver.HostBuffer[4];

        Staging(CudaDriver driver) {
            this.driver = driver;
        }

        private MemorySegment room(int use, CudaDriver.DeviceBuffer[] device, long bytes) {
            if (host[use] == null || host[use].bytes() < bytes) {
                long grown = Math.max(bytes, host[use] == null ? 0 : 2 * host[use].bytes());
                driver.sync(driver.compute);
                driver.free(host[use]);
                host[use] = null;
                host[use] = driver.pinned(grown);
            }
            if (device[0] == null || device[0].bytes() < bytes) {
                driver.sync(driver.compute);
                driver.free(device[0]);
                device[0] = null;
                device[0] = driver.alloc(Math.max(bytes, 4096));
            }
            return host[use].segment();
        }

        CudaDriver.DeviceBuffer upload(CudaDriver.DeviceBuffer dst, int use, int[] src, int count) {
            return upload(dst, use, 4L * count, seg -> MemorySegment.copy(src, 0, seg, ValueLayout.JAVA_INT_UNALIGNED, 0, count));
        }

        CudaDriver.DeviceBuffer upload(CudaDriver.DeviceBuffer dst, int use, long[] src, int count) {
            return upload(dst, use, 8L * count, seg -> MemorySegment.copy(src, 0, seg, ValueLayout.JAVA_LONG_UNALIGNED, 0, count));
        }

        CudaDriver.DeviceBuffer upload(CudaDriver.DeviceBuffer dst, int use, float[] src, int count) {
            return upload(dst, use, 4L * count, seg -> MemorySegment.copy(src, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, count));
        }

        /** {@code fill} writes the pinned buffer of {@code use} (native order: little-endian, as the device reads). */
        private CudaDriver.DeviceBuffer upload(CudaDriver.DeviceBuffer dst, int use, long bytes, java.util.function.Consumer<MemorySegment> fill) {
            CudaDriver.DeviceBuffer[] d = {dst};
            fill.accept(room(use, d, bytes));
            driver.copyIn(d[0], 0, host[use], bytes, driver.compute);
            return d[0];
        }

        @Override
        public void close() {
            for (int i = 0; i < host.length; i++) {
                driver.free(host[i]);
                host[i] = null;
            }
        }
    }
}

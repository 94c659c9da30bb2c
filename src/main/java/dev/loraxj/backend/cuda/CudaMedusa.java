package dev.loraxj.backend.cuda;

import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import jcuda.Pointer;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Medusa heads on the device (the CPU's MedusaKernel): per head the ResBlocks
 * {@code h ← h + SiLU(W0 h + b0)} (the linear on bf16 h, the tail in float32), then the head's own
 * lm_head (v1) or, for every head's rows stacked, the base model's (v2). Heads are uploaded once as
 * bf16 (biases float32) and kept for the few most recently used sets.
 */
final class CudaMedusa implements AutoCloseable {

    private static final int KEPT = 4;

    private final ModelConfig cfg;
    private final CudaDriver driver;
    private final CudaKernels kernels;
    private final long baseHead;
    private final CudaForward.Staging staging;
    private final Map<MedusaHeads, CudaDriver.DeviceBuffer> uploaded = new LinkedHashMap<>(8, 0.75f, true);
    private CudaDriver.DeviceBuffer input;
    private CudaDriver.DeviceBuffer work;
    private int workRows;
    private int workHeads;

    CudaMedusa(ModelConfig cfg, CudaDriver driver, CudaKernels kernels, long baseHead) {
        this.cfg = cfg;
        this.driver = driver;
        this.kernels = kernels;
        this.baseHead = baseHead;
        this.staging = new CudaForward.Staging(driver);
    }

    /** {@code out[(head * rows + r) * vocab + v]} for the rows {@code x[r * hidden]}. */
    void apply(MedusaHeads m, float[] x, int rows, float[] out) {
        int d = cfg.hiddenSize();
        int vocab = cfg.vocabSize();
        if (m.hidden() != d) {
            throw new IllegalArgumentException("Medusa heads for hidden size " + m.hidden() + ", model has " + d);
        }
        if (rows == 0) {
            return;
        }
        driver.current();
        CudaDriver.DeviceBuffer heads = heads(m);
        int n = m.numHeads();
        grow(rows, n);
        input = staging.upload(input, 0, x, rows * d);
        long xf = input.address();
        long ping = work.address();
        long pong = ping + SlotLayout.align(4L * rows * d);
        long y = pong + SlotLayout.align(4L * rows * d);
        long hb = y + SlotLayout.align(4L * rows * d);
        long stacked = hb + SlotLayout.align(2L * rows * d);
        long logits = stacked + SlotLayout.align(2L * n * rows * d);
        long at = heads.address();
        for (int i = 0; i < n; i++) {
            long cur = xf;
            for (int l = 0; l < m.numLayers(); l++) {
                long next = cur == ping ? pong : ping;
                kernels.toBf16(cur, hb, (long) rows * d);
                kernels.linear(at, hb, y, rows, d, d);
                at += SlotLayout.align(2L * d * d);
                kernels.medusaResidual(cur, y, at, next, d, rows);
                at += SlotLayout.align(4L * d);
                cur = next;
            }
            if (m.version() == 1) {
                kernels.toBf16(cur, hb, (long) rows * d);
                kernels.linear(at, hb, logits + 4L * i * rows * vocab, rows, d, vocab);
                at += SlotLayout.align(2L * vocab * d);
            } else {
                kernels.toBf16(cur, stacked + 2L * i * rows * d, (long) rows * d);
            }
        }
        if (m.version() == 2) {
            kernels.linear(baseHead, stacked, logits, n * rows, d, vocab);
        }
        driver.copyOut(Pointer.to(out), work, logits - work.address(), 4L * n * rows * vocab);
    }

    /** The heads' weights on the device, uploaded on first use in the order {@link #apply} reads them. */
    private CudaDriver.DeviceBuffer heads(MedusaHeads m) {
        CudaDriver.DeviceBuffer b = uploaded.get(m);
        if (b != null) {
            return b;
        }
        int d = m.hidden();
        int vocab = cfg.vocabSize();
        long bytes = 0;
        for (int i = 0; i < m.numHeads(); i++) {
            bytes += m.numLayers() * (SlotLayout.align(2L * d * d) + SlotLayout.align(4L * d));
            if (m.version() == 1) {
                bytes += SlotLayout.align(2L * vocab * d);
            }
        }
        b = driver.alloc(bytes);
        CudaDriver.HostBuffer host = driver.pinned(bytes);
        try {
            long at = 0;
            for (int i = 0; i < m.numHeads(); i++) {
                for (int l = 0; l < m.numLayers(); l++) {
                    at = putBf16(host, at, m.resWeights()[i][l]);
                    java.lang.foreign.MemorySegment.copy(m.resBiases()[i][l], 0, host.segment(),
                            java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at, d);
                    at += SlotLayout.align(4L * d);
                }
                if (m.version() == 1) {
                    at = putBf16(host, at, m.heads()[i]);
                }
            }
            driver.copyIn(b, 0, host, bytes, driver.upload);
            driver.sync(driver.upload);
        } finally {
            driver.free(host);
        }
        if (uploaded.size() == KEPT) {
            var eldest = uploaded.entrySet().iterator().next();
            driver.free(eldest.getValue());
            uploaded.remove(eldest.getKey());
        }
        uploaded.put(m, b);
        return b;
    }

    private static long putBf16(CudaDriver.HostBuffer host, long at, float[] values) {
        for (int i = 0; i < values.length; i++) {
            host.segment().set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, at + 2L * i, DType.floatToBf16(values[i]));
        }
        return at + SlotLayout.align(2L * values.length);
    }

    private void grow(int rows, int heads) {
        if (work != null && rows <= workRows && heads <= workHeads) {
            return;
        }
        int d = cfg.hiddenSize();
        long bytes = 3 * SlotLayout.align(4L * rows * d) + SlotLayout.align(2L * rows * d) + SlotLayout.align(2L * heads * rows * d)
                + 4L * heads * rows * cfg.vocabSize();
        driver.sync(driver.compute);
        driver.free(work);
        work = null;
        work = driver.alloc(bytes);
        workRows = rows;
        workHeads = heads;
    }

    @Override
    public void close() {
        uploaded.values().forEach(driver::free);
        uploaded.clear();
        driver.free(work);
        driver.free(input);
        staging.close();
    }
}

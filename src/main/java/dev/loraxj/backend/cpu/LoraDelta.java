package dev.loraxj.backend.cpu;

import dev.loraxj.backend.LinearModule;
import dev.loraxj.backend.StepBatch;

/**
 * The CPU twin of SGMV: after a linear ran once for the whole batch, adds each adapter's low-rank
 * update to its own segment of rows, {@code y_seg += s·(x_seg Aᵀ) Bᵀ}, as a shrink then an expand.
 * Base-model rows get no work. Every output is computed by one task in a fixed order, so a row's
 * result does not depend on what else is in the batch.
 */
final class LoraDelta {

    private static final int COLUMNS = 16 * Vec.L; // expand work unit: whole BF16 chunks, whole 4L-wide F32 loops
    // With this many adapter segments per thread, tasks of one whole segment balance well enough.
    private static final int SEGMENTS_PER_THREAD = 2;

    private final Parallel pool;
    private int numSegs;
    private int[] segFrom = new int[8];
    private int[] segTo = new int[8];
    private CpuLora[] segAdapter = new CpuLora[8];
    private float[] shrunk = new float[0];

    // The linear being applied, read by the tasks: its segments that have a matrix for it.
    private LoraMatrix[] segMat = new LoraMatrix[8];
    private int[] activeFrom = new int[8];
    private int[] activeTo = new int[8];
    private int[] rowsBefore = new int[9]; // rows of the active segments before segment i
    private int blocks;
    private float[] x;
    private float[] y;
    private int in;
    private int out;
    private int stride;

    private final Parallel.Body segmentBody = this::segments;
    private final Parallel.Body shrinkBody = this::shrink;
    private final Parallel.Body expandBody = this::expand;

    LoraDelta(Parallel pool) {
        this.pool = pool;
    }

    /** Finds this step's segments: runs of consecutive sequences that share an adapter. */
    void prepare(StepBatch b) {
        numSegs = 0;
        for (int s = 0; s < b.numSeqs(); s++) {
            if (b.adapter(s) == null || b.seqEnd(s) == b.seqStart(s)) {
                continue;
            }
            if (!(b.adapter(s) instanceof CpuLora a)) {
                throw new IllegalArgumentException(b.adapter(s) + " was not registered with the CPU backend");
            }
            if (numSegs > 0 && segAdapter[numSegs - 1] == a && segTo[numSegs - 1] == b.seqStart(s)) {
                segTo[numSegs - 1] = b.seqEnd(s);
                continue;
            }
            if (numSegs == segFrom.length) {
                segFrom = java.util.Arrays.copyOf(segFrom, numSegs * 2);
                segTo = java.util.Arrays.copyOf(segTo, numSegs * 2);
                segAdapter = java.util.Arrays.copyOf(segAdapter, numSegs * 2);
                segMat = java.util.Arrays.copyOf(segMat, numSegs * 2);
                activeFrom = java.util.Arrays.copyOf(activeFrom, numSegs * 2);
                activeTo = java.util.Arrays.copyOf(activeTo, numSegs * 2);
                rowsBefore = java.util.Arrays.copyOf(rowsBefore, numSegs * 2 + 1);
            }
            segFrom[numSegs] = b.seqStart(s);
            segTo[numSegs] = b.seqEnd(s);
            segAdapter[numSegs] = a;
            numSegs++;
        }
    }

    boolean active() {
        return numSegs > 0;
    }

    /** {@code y[T, out] += per segment s_i (x[T, in] A_iᵀ) B_iᵀ} for the adapters that target this linear. */
    void apply(int layer, LinearModule module, float[] x, int in, float[] y, int out, int tokens) {
        if (numSegs == 0) {
            return;
        }
        int maxRank = 0;
        int maxRows = 0;
        int active = 0;
        for (int i = 0; i < numSegs; i++) {
            LoraMatrix m = segAdapter[i].matrix(layer, module);
            if (m == null) {
                continue;
            }
            if (m.in() != in || m.out() != out) {
                throw new IllegalStateException(module + " of layer " + layer + ": LoRA [" + m.in() + " -> " + m.out()
                        + "] on a linear [" + in + " -> " + out + "]");
            }
            if (m instanceof LoraMatrix.Bf16 b && b.lanes() != Vec.L) {
                throw new IllegalStateException("BF16 LoRA packed for " + b.lanes() + " lanes, the kernels use " + Vec.L);
            }
            segMat[active] = m;
            activeFrom[active] = segFrom[i];
            activeTo[active] = segTo[i];
            rowsBefore[active + 1] = rowsBefore[active] + segTo[i] - segFrom[i];
            maxRank = Math.max(maxRank, m.rank());
            maxRows = Math.max(maxRows, segTo[i] - segFrom[i]);
            active++;
        }
        if (active == 0) {
            return;
        }
        if (shrunk.length < tokens * maxRank) {
            shrunk = new float[Math.max(tokens * maxRank, shrunk.length * 2)];
        }
        this.x = x;
        this.y = y;
        this.in = in;
        this.out = out;
        this.stride = maxRank;
        int threads = pool.threads();
        if (active >= SEGMENTS_PER_THREAD * threads && (long) maxRows * threads <= rowsBefore[active]) {
            // One segment per chunk: segments cost about the same, and a straggler then waits for one at most.
            pool.forRange(active, 1, active, segmentBody);
        } else {
            pool.forRange(rowsBefore[active], 1, shrinkBody);
            blocks = (out + COLUMNS - 1) / COLUMNS;
            pool.forRange(rowsBefore[active] * blocks, 1, expandBody);
        }
        this.x = null;
        this.y = null;
    }

    /** Many adapters, none with more than a thread's share of rows: one task per segment shrinks then expands it all. */
    private void segments(int from, int to, int worker) {
        for (int i = from; i < to; i++) {
            LoraMatrix m = segMat[i];
            for (int t = activeFrom[i]; t < activeTo[i]; t++) {
                LoraKernels.shrink(m, x, t * in, shrunk, t * stride);
            }
            for (int t = activeFrom[i]; t < activeTo[i]; t++) {
                LoraKernels.expand(m, shrunk, t * stride, y, t * out, 0, out);
            }
        }
    }

    /** Shrink: one task per row computes {@code s_t = scale (x_t Aᵀ)}; rows are numbered across the active segments. */
    private void shrink(int from, int to, int worker) {
        int i = 0;
        for (int r = from; r < to; r++) {
            while (r >= rowsBefore[i + 1]) {
                i++;
            }
            int t = activeFrom[i] + r - rowsBefore[i];
            LoraKernels.shrink(segMat[i], x, t * in, shrunk, t * stride);
        }
    }

    /** Expand: one task per (row, block of columns) adds {@code Σ_j s_tj Bᵀ_j} to the block, j in order. */
    private void expand(int from, int to, int worker) {
        int i = 0;
        for (int task = from; task < to; task++) {
            int r = task / blocks;
            while (r >= rowsBefore[i + 1]) {
                i++;
            }
            int t = activeFrom[i] + r - rowsBefore[i];
            int c0 = (task % blocks) * COLUMNS;
            LoraKernels.expand(segMat[i], shrunk, t * stride, y, t * out, c0, Math.min(out, c0 + COLUMNS));
        }
    }
}

package dev.loraxj.backend.cpu;

import dev.loraxj.backend.Module;
import dev.loraxj.backend.LoraAdapter;
import dev.loraxj.backend.LoraMatrix;
import dev.loraxj.backend.StepBatch;
import jdk.incubator.vector.FloatVector;

/**
 * The CPU twin of SGMV: after a linear ran once for the whole batch, adds each adapter's low-rank
 * update to its own segment of rows, {@code y_seg += (x_seg Aᵀ)(s·B)ᵀ}, as a shrink then an expand.
 * Base-model rows get no work. Every output is computed by one task in a fixed order, so a row's
 * result does not depend on what else is in the batch.
 */
final class LoraDelta {

    private static final int COLUMNS = 16 * Vec.L; // expand work unit: a multiple of the vector width

    private final Parallel pool;
    private int numSegs;
    private int[] segFrom = new int[8];
    private int[] segTo = new int[8];
    private LoraAdapter[] segAdapter = new LoraAdapter[8];
    private float[] shrunk = new float[0];

    // The linear being applied, read by the tasks.
    private LoraMatrix[] segMat = new LoraMatrix[8];
    private int[] taskStart = new int[9];
    private float[] x;
    private float[] y;
    private int in;
    private int out;
    private int stride;

    private final Parallel.Body shrinkBody = this::shrink;
    private final Parallel.Body expandBody = this::expand;

    LoraDelta(Parallel pool) {
        this.pool = pool;
    }

    /** Finds this step's segments: runs of consecutive sequences that share an adapter. */
    void prepare(StepBatch b) {
        numSegs = 0;
        for (int s = 0; s < b.numSeqs(); s++) {
            LoraAdapter a = b.adapter(s);
            if (a == null || b.seqEnd(s) == b.seqStart(s)) {
                continue;
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
                taskStart = java.util.Arrays.copyOf(taskStart, numSegs * 2 + 1);
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

    /** {@code y[T, out] += per segment (x[T, in] A_iᵀ)(s_i B_i)ᵀ} for the adapters that target this linear. */
    void apply(int layer, Module module, float[] x, int in, float[] y, int out, int tokens) {
        if (numSegs == 0) {
            return;
        }
        int maxRank = 0;
        int shrinkTasks = 0;
        for (int i = 0; i < numSegs; i++) {
            LoraMatrix m = segAdapter[i].matrix(layer, module);
            segMat[i] = m;
            taskStart[i] = shrinkTasks;
            if (m != null) {
                maxRank = Math.max(maxRank, m.rank());
                shrinkTasks += m.rank();
            }
        }
        taskStart[numSegs] = shrinkTasks;
        if (shrinkTasks == 0) {
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
        pool.forRange(shrinkTasks, 1, shrinkBody);
        int blocks = (out + COLUMNS - 1) / COLUMNS;
        int expandTasks = 0;
        for (int i = 0; i < numSegs; i++) {
            if (segMat[i] != null) {
                expandTasks += blocks;
            }
        }
        pool.forRange(expandTasks, 1, expandBody);
        this.x = null;
        this.y = null;
    }

    /** Shrink: one task per (segment, rank row j) computes x_t · A_j for the segment's rows. */
    private void shrink(int from, int to, int worker) {
        int seg = 0;
        for (int task = from; task < to; task++) {
            while (task >= taskStart[seg + 1]) {
                seg++;
            }
            LoraMatrix m = segMat[seg];
            int j = task - taskStart[seg];
            for (int t = segFrom[seg]; t < segTo[seg]; t++) {
                shrunk[t * stride + j] = Vec.dot(x, t * in, m.a(), j * in, in);
            }
        }
    }

    /** Expand: one task per (segment, block of columns) adds Σ_j s_tj · (sB)ᵀ_j to the block, j in order. */
    private void expand(int from, int to, int worker) {
        int blocks = (out + COLUMNS - 1) / COLUMNS;
        int vectorEnd = Vec.F.loopBound(out);
        for (int task = from; task < to; task++) {
            int seg = segmentOfExpand(task / blocks);
            LoraMatrix m = segMat[seg];
            int c0 = (task % blocks) * COLUMNS;
            int c1 = Math.min(out, c0 + COLUMNS);
            int rank = m.rank();
            float[] bt = m.scaledBt();
            for (int t = segFrom[seg]; t < segTo[seg]; t++) {
                int yo = t * out;
                int so = t * stride;
                int c = c0;
                for (; c < Math.min(c1, vectorEnd); c += Vec.L) {
                    FloatVector acc = FloatVector.fromArray(Vec.F, y, yo + c);
                    for (int j = 0; j < rank; j++) {
                        acc = FloatVector.fromArray(Vec.F, bt, j * out + c).fma(FloatVector.broadcast(Vec.F, shrunk[so + j]), acc);
                    }
                    acc.intoArray(y, yo + c);
                }
                for (; c < c1; c++) {
                    float acc = y[yo + c];
                    for (int j = 0; j < rank; j++) {
                        acc = Math.fma(bt[j * out + c], shrunk[so + j], acc);
                    }
                    y[yo + c] = acc;
                }
            }
        }
    }

    /** The n-th segment that has a matrix for the current linear. */
    private int segmentOfExpand(int n) {
        for (int i = 0; i < numSegs; i++) {
            if (segMat[i] != null && n-- == 0) {
                return i;
            }
        }
        throw new IllegalStateException("no segment " + n);
    }
}

package dev.loraxj.backend.cpu;

import dev.loraxj.model.ModelConfig;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * Causal GQA attention of each token over its own sequence in the paged KV cache, honouring a
 * sliding window. One (token, head) pair is one work item, computed start to finish by one thread,
 * so its result does not depend on the batch around it.
 */
final class Attention implements Parallel.Body {

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = Vec.L;

    private final int numHeads;
    private final int group;
    private final int headDim;
    private final int qDim;
    private final int window;
    private final float scale;
    private float[][] scores;

    // The current call's arguments, set before the parallel-for.
    private KvCache cache;
    private int layer;
    private int[] positions;
    private int[] seqOf;
    private int[][] tables;
    private float[] q;
    private float[] out;

    Attention(ModelConfig cfg, int threads) {
        this.numHeads = cfg.numHeads();
        this.group = cfg.numHeads() / cfg.numKvHeads();
        this.headDim = cfg.headDim();
        this.qDim = cfg.qDim();
        this.window = cfg.slidingWindow();
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        this.scores = new float[threads][256];
    }

    /**
     * {@code out[t, h]} = softmax(q[t, h] · K / √d) · V over positions {@code 0..positions[t]} (or the
     * window) of the sequence {@code seqOf[t]}, whose block table is {@code tables[seqOf[t]]}.
     */
    void run(Parallel pool, KvCache cache, int layer, int numTokens, int[] positions, int[] seqOf, int[][] tables,
             float[] q, float[] out) {
        this.cache = cache;
        this.layer = layer;
        this.positions = positions;
        this.seqOf = seqOf;
        this.tables = tables;
        this.q = q;
        this.out = out;
        pool.forRange(numTokens * numHeads, this);
        this.q = null;
        this.out = null;
        this.tables = null;
    }

    @Override
    public void run(int from, int to, int worker) {
        for (int item = from; item < to; item++) {
            head(item / numHeads, item % numHeads, worker);
        }
    }

    private void head(int t, int h, int worker) {
        int p = positions[t];
        int lo = window > 0 ? Math.max(0, p - window + 1) : 0;
        int n = p - lo + 1;
        float[] sc = scores[worker];
        if (sc.length < n) {
            sc = scores[worker] = new float[Math.max(n, sc.length * 2)];
        }
        int[] table = tables[seqOf[t]];
        MemorySegment keys = cache.keys(layer);
        MemorySegment values = cache.values(layer);
        long headOff = (long) (h / group) * headDim * Float.BYTES;
        int qo = t * qDim + h * headDim;

        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            float s = Vec.dot(q, qo, keys, cache.slotOffset(table, lo + j) + headOff, headDim) * scale;
            sc[j] = s;
            max = Math.max(max, s);
        }
        float sum = 0f;
        for (int j = 0; j < n; j++) {
            float e = (float) Math.exp(sc[j] - max);
            sc[j] = e;
            sum += e;
        }
        int end = F.loopBound(headDim);
        for (int d = 0; d < headDim; d++) {
            out[qo + d] = 0f;
        }
        for (int j = 0; j < n; j++) {
            float w = sc[j] / sum;
            long vo = cache.slotOffset(table, lo + j) + headOff;
            FloatVector wv = FloatVector.broadcast(F, w);
            int d = 0;
            for (; d < end; d += L) {
                FloatVector.fromMemorySegment(F, values, vo + d * 4L, Matmul.LE)
                        .fma(wv, FloatVector.fromArray(F, out, qo + d)).intoArray(out, qo + d);
            }
            for (; d < headDim; d++) {
                out[qo + d] += w * values.get(Matmul.F32, vo + d * 4L);
            }
        }
    }
}

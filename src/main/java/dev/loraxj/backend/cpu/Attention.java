package dev.loraxj.backend.cpu;

import dev.loraxj.model.ModelConfig;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * Causal GQA attention of each token over its own sequence in the paged KV cache, honouring a
 * sliding window. One (token, head) pair is one work item, computed start to finish by one thread in
 * an order fixed by its position alone, so its result depends neither on the batch around it nor on
 * the block size. exp is {@link VecMath#exp}: fast and the same bits whether or not C2 compiled it.
 */
final class Attention implements Parallel.Body {

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = Vec.L;
    // a bfloat16 cache: L shorts widen to L ints, shifted into the high half they are the floats
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * Short.SIZE));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

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

    // Split into small methods on purpose: C1 gives up on one big method full of vector code
    // ("out of virtual registers") and it then never reaches C2, running 10x slower.
    private void head(int t, int h, int worker) {
        int p = positions[t];
        int lo = window > 0 ? Math.max(0, p - window + 1) : 0;
        int n = p - lo + 1;
        float[] sc = scores[worker];
        // Room for whole vectors past the last score and past the last block's slots.
        int room = n + 2 * L;
        if (sc.length < room) {
            sc = scores[worker] = new float[Math.max(room, sc.length * 2)];
        }
        int[] table = tables[seqOf[t]];
        boolean bf16 = cache.bf16();
        int kvHead = h / group;
        int qo = t * qDim + h * headDim;
        int bs = cache.blockSize();
        MemorySegment keys = cache.keys(layer);
        int j = 0;
        for (int pos = lo; pos <= p; ) {
            int bi = pos / bs;
            int slot0 = pos - bi * bs;
            int slots = Math.min(bs - slot0, p - pos + 1);
            if (bf16) {
                scoresBf16(keys, cache.keyBase(table[bi], kvHead) + (long) slot0 * 2, bs, slots, qo, sc, j);
            } else {
                scores(keys, cache.keyBase(table[bi], kvHead) + (long) slot0 * Float.BYTES, bs, slots, qo, sc, j);
            }
            j += slots;
            pos += slots;
        }
        float inv = 1f / softmaxNumerators(sc, n);
        MemorySegment values = cache.values(layer);
        if (bf16) {
            for (int d0 = 0; d0 < headDim; d0 += L) {
                weightedValuesBf16(values, table, kvHead, lo, p, bs, d0, sc, inv, qo);
            }
            return;
        }
        if (headDim % (4 * L) == 0) {
            for (int d0 = 0; d0 < headDim; d0 += 4 * L) {
                weightedValues4(values, table, kvHead, lo, p, bs, d0, sc, inv, qo);
            }
        } else {
            for (int d0 = 0; d0 < headDim; d0 += L) {
                weightedValues(values, table, kvHead, lo, p, bs, d0, sc, inv, qo);
            }
        }
    }

    /**
     * {@code sc[j + s] = scale · q · k_s} for the {@code slots} consecutive slots of one block from {@code kb}
     * (K is dimension-major: dimension d of the block's slots is at {@code kb + d · bs} floats). Whole
     * vectors, no masks: lanes past {@code slots} read other slots or the cache's padding and land in
     * {@code sc} past the block, where the next block overwrites them; lanes never mix, so they change
     * nothing. Masked loads would make this method too big for C1, and then it never reaches C2.
     */
    private void scores(MemorySegment keys, long kb, int bs, int slots, int qo, float[] sc, int j) {
        long dStride = (long) bs * Float.BYTES;
        for (int s = 0; s < slots; s += L) {
            long off = kb + (long) s * Float.BYTES;
            // Four chains over d (d mod 4) so FMA latency overlaps; the order is fixed by headDim alone.
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int d = 0;
            for (; d + 4 <= headDim; d += 4, off += 4 * dStride) {
                a0 = FloatVector.fromMemorySegment(F, keys, off, Matmul.LE).fma(FloatVector.broadcast(F, q[qo + d]), a0);
                a1 = FloatVector.fromMemorySegment(F, keys, off + dStride, Matmul.LE).fma(FloatVector.broadcast(F, q[qo + d + 1]), a1);
                a2 = FloatVector.fromMemorySegment(F, keys, off + 2 * dStride, Matmul.LE).fma(FloatVector.broadcast(F, q[qo + d + 2]), a2);
                a3 = FloatVector.fromMemorySegment(F, keys, off + 3 * dStride, Matmul.LE).fma(FloatVector.broadcast(F, q[qo + d + 3]), a3);
            }
            for (; d < headDim; d++, off += dStride) {
                a0 = FloatVector.fromMemorySegment(F, keys, off, Matmul.LE).fma(FloatVector.broadcast(F, q[qo + d]), a0);
            }
            a0.add(a1).add(a2.add(a3)).mul(scale).intoArray(sc, j + s);
        }
    }

    /** As {@link #scores}, over a bfloat16 cache: the same chains and order, on the widened keys. */
    private void scoresBf16(MemorySegment keys, long kb, int bs, int slots, int qo, float[] sc, int j) {
        long dStride = (long) bs * 2;
        for (int s = 0; s < slots; s += L) {
            long off = kb + (long) s * 2;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int d = 0;
            for (; d + 4 <= headDim; d += 4, off += 4 * dStride) {
                a0 = widen(keys, off).fma(FloatVector.broadcast(F, q[qo + d]), a0);
                a1 = widen(keys, off + dStride).fma(FloatVector.broadcast(F, q[qo + d + 1]), a1);
                a2 = widen(keys, off + 2 * dStride).fma(FloatVector.broadcast(F, q[qo + d + 2]), a2);
                a3 = widen(keys, off + 3 * dStride).fma(FloatVector.broadcast(F, q[qo + d + 3]), a3);
            }
            for (; d < headDim; d++, off += dStride) {
                a0 = widen(keys, off).fma(FloatVector.broadcast(F, q[qo + d]), a0);
            }
            a0.add(a1).add(a2.add(a3)).mul(scale).intoArray(sc, j + s);
        }
    }

    /** L bfloat16 values from {@code off}, exactly as floats. */
    private static FloatVector widen(MemorySegment seg, long off) {
        return ((IntVector) ShortVector.fromMemorySegment(S, seg, off, Matmul.LE).convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector widen(MemorySegment seg, long off, VectorMask<Short> m) {
        return ((IntVector) ShortVector.fromMemorySegment(S, seg, off, Matmul.LE, m).convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** As {@link #weightedValues}, over a bfloat16 cache. */
    private void weightedValuesBf16(MemorySegment values, int[] table, int kvHead, int lo, int p, int bs, int d0,
                                    float[] sc, float inv, int qo) {
        VectorMask<Short> ms = S.indexInRange(d0, headDim);
        VectorMask<Float> m = F.indexInRange(d0, headDim);
        long slotStride = cache.valueOffset(0, 1, 0);
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (int pos = lo; pos <= p; ) {
            int bi = pos / bs;
            int slot0 = pos - bi * bs;
            int slots = Math.min(bs - slot0, p - pos + 1);
            long vo = cache.valueOffset(table[bi], slot0, kvHead) + (long) d0 * 2;
            for (int s = 0; s < slots; s++, vo += slotStride) {
                acc = widen(values, vo, ms).fma(FloatVector.broadcast(F, sc[j++]), acc);
            }
            pos += slots;
        }
        acc.mul(inv).intoArray(out, qo + d0, m);
    }

    /** Replaces {@code sc[0..n)} by {@code exp(sc - max)} and returns their sum, in an order fixed by n. */
    private static float softmaxNumerators(float[] sc, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, sc[i]);
        }
        FloatVector sumV = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector e = VecMath.exp(FloatVector.fromArray(F, sc, i).sub(max));
            e.intoArray(sc, i);
            sumV = sumV.add(e);
        }
        float sum = Vec.sum(sumV);
        if (i < n) {
            // sc has L floats of room past n; lanes past n are never read.
            VecMath.exp(FloatVector.fromArray(F, sc, i).sub(max)).intoArray(sc, i);
            for (; i < n; i++) {
                sum += sc[i];
            }
        }
        return sum;
    }

    /** L dimensions from d0 (masked at headDim). */
    private void weightedValues(MemorySegment values, int[] table, int kvHead, int lo, int p, int bs, int d0,
                                float[] sc, float inv, int qo) {
        VectorMask<Float> m = F.indexInRange(d0, headDim);
        long slotStride = cache.valueOffset(0, 1, 0);
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (int pos = lo; pos <= p; ) {
            int bi = pos / bs;
            int slot0 = pos - bi * bs;
            int slots = Math.min(bs - slot0, p - pos + 1);
            long vo = cache.valueOffset(table[bi], slot0, kvHead) + (long) d0 * Float.BYTES;
            for (int s = 0; s < slots; s++, vo += slotStride) {
                acc = FloatVector.fromMemorySegment(F, values, vo, Matmul.LE, m).fma(FloatVector.broadcast(F, sc[j++]), acc);
            }
            pos += slots;
        }
        acc.mul(inv).intoArray(out, qo + d0, m);
    }

    /** 4L dimensions from d0, as four independent chains: the same per-dimension sequence as {@link #weightedValues}. */
    private void weightedValues4(MemorySegment values, int[] table, int kvHead, int lo, int p, int bs, int d0,
                                 float[] sc, float inv, int qo) {
        long slotStride = cache.valueOffset(0, 1, 0);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (int pos = lo; pos <= p; ) {
            int bi = pos / bs;
            int slot0 = pos - bi * bs;
            int slots = Math.min(bs - slot0, p - pos + 1);
            long vo = cache.valueOffset(table[bi], slot0, kvHead) + (long) d0 * Float.BYTES;
            for (int s = 0; s < slots; s++, vo += slotStride) {
                FloatVector w = FloatVector.broadcast(F, sc[j++]);
                a0 = FloatVector.fromMemorySegment(F, values, vo, Matmul.LE).fma(w, a0);
                a1 = FloatVector.fromMemorySegment(F, values, vo + 4L * L, Matmul.LE).fma(w, a1);
                a2 = FloatVector.fromMemorySegment(F, values, vo + 8L * L, Matmul.LE).fma(w, a2);
                a3 = FloatVector.fromMemorySegment(F, values, vo + 12L * L, Matmul.LE).fma(w, a3);
            }
            pos += slots;
        }
        a0.mul(inv).intoArray(out, qo + d0);
        a1.mul(inv).intoArray(out, qo + d0 + L);
        a2.mul(inv).intoArray(out, qo + d0 + 2 * L);
        a3.mul(inv).intoArray(out, qo + d0 + 3 * L);
    }
}

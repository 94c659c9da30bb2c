package dev.loraxj.engine;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorized max and sum of exp over a float range, for log-softmax of a whole vocabulary.
 * Deterministic: exp is a polynomial of adds, multiplies and FMAs (exact IEEE operations), and
 * lanes are summed in a fixed order, because the Vector API's EXP and reduceLanes(ADD) differ
 * between C2 and the interpreter, and a request must report the same logprobs cold or warm.
 */
final class LogSumExp {

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Lanes sum in float over this many vectors, then fold into a double, to bound rounding. */
    private static final int BLOCK_VECTORS = 64;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUNDER = 12582912f; // 1.5 * 2^23: adding it rounds to an integer
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);

    private LogSumExp() {
    }

    /** The largest value in a[from, to), NaN ignored; -inf when none. */
    static float max(float[] a, int from, int to) {
        FloatVector acc = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        int i = from;
        for (int upper = from + SPECIES.loopBound(to - from); i < upper; i += SPECIES.length()) {
            FloatVector v = FloatVector.fromArray(SPECIES, a, i);
            acc = acc.max(v.blend(Float.NEGATIVE_INFINITY, v.test(VectorOperators.IS_NAN)));
        }
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < to; i++) {
            if (a[i] > m) {
                m = a[i];
            }
        }
        return m;
    }

    /** Sum of exp(a[i] - max) over a[from, to); -inf and NaN entries add nothing. */
    static double sumExp(float[] a, int from, int to, float max) {
        double total = 0;
        int i = from;
        int upper = from + SPECIES.loopBound(to - from);
        int block = BLOCK_VECTORS * SPECIES.length();
        while (i < upper) {
            FloatVector acc = FloatVector.zero(SPECIES);
            for (int end = Math.min(upper, i + block); i < end; i += SPECIES.length()) {
                FloatVector v = FloatVector.fromArray(SPECIES, a, i);
                VectorMask<Float> finite = v.compare(VectorOperators.GT, Float.NEGATIVE_INFINITY);
                acc = acc.add(exp(v.sub(max)), finite);
            }
            total += sumLanes(acc);
        }
        if (i < to) {
            VectorMask<Float> tail = SPECIES.indexInRange(i, to);
            FloatVector v = FloatVector.fromArray(SPECIES, a, i, tail);
            VectorMask<Float> finite = v.compare(VectorOperators.GT, Float.NEGATIVE_INFINITY, tail);
            total += sumLanes(FloatVector.zero(SPECIES).add(exp(v.sub(max)), finite));
        }
        return total;
    }

    /** Lanes summed first to last, in double. */
    private static double sumLanes(FloatVector v) {
        double s = 0;
        for (int lane = 0; lane < SPECIES.length(); lane++) {
            s += v.lane(lane);
        }
        return s;
    }

    /**
     * exp(x) for x <= 0 (Cephes expf: x = n ln2 + r, a degree-6 polynomial in r, times 2^n),
     * within 2 ulp; x below -87.3 gives about 1e-38 instead of a denormal or 0.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87.3f).min(88.7f);
        FloatVector t = x.fma(FloatVector.broadcast(SPECIES, LOG2E), FloatVector.broadcast(SPECIES, ROUNDER));
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(SPECIES, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(SPECIES, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(SPECIES, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(SPECIES, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 5.0000001201e-1f));
        FloatVector y = p.mul(r.mul(r)).add(r).add(1f);
        FloatVector scale = t.reinterpretAsInts().sub(ROUNDER_BITS - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(scale);
    }
}

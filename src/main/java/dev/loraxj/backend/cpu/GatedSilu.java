package dev.loraxj.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SwiGLU gate: {@code gate = silu(gate) * up}, elementwise, parallel over tokens. exp is
 * {@link VecMath#exp}: the Vector API's EXP differs between C2 (SVML) and its Java fallback.
 */
final class GatedSilu implements Parallel.Body {

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = Vec.L;

    private float[] gate;
    private float[] up;
    private int width;

    void run(Parallel pool, float[] gate, float[] up, int tokens, int width) {
        this.gate = gate;
        this.up = up;
        this.width = width;
        pool.forRange(tokens, this);
        this.gate = null;
        this.up = null;
    }

    @Override
    public void run(int from, int to, int worker) {
        apply(gate, up, from * width, to * width);
    }

    static void apply(float[] gate, float[] up, int from, int to) {
        for (int i = from; i < to; i += L) {
            VectorMask<Float> m = F.indexInRange(i, to);
            FloatVector g = FloatVector.fromArray(F, gate, i, m);
            FloatVector s = g.div(VecMath.exp(g.neg()).add(1f));
            s.mul(FloatVector.fromArray(F, up, i, m)).intoArray(gate, i, m);
        }
    }
}

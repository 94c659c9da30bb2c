package dev.loraxj.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp(x) from lanewise IEEE operations only (FMA, add, multiply, bit shifts), so every lane's result
 * is the same bits in the interpreter, C1 and C2. The Vector API's own EXP is not: C2 calls SVML
 * while the fallback calls StrictMath. Relative error below 2e-7 (about 2 ulp) on [-87, 88].
 */
public final class VecMath {

    private static final VectorSpecies<Float> F = Vec.F;
    private static final float LOG2E = 1.44269504f;
    private static final float LN2_HI = 0.693145751953125f;
    private static final float LN2_LO = 1.428606765330187e-06f;
    // 1.5 * 2^23: adding it rounds a float of magnitude < 2^22 to the nearest integer, exactly.
    private static final float ROUND = 12582912f;
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);

    private VecMath() {
    }

    public static FloatVector exp(FloatVector x) {
        x = x.max(-87.0f).min(88.0f);
        FloatVector t = x.fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        // Taylor series of e^r to r^7 on |r| <= ln2/2 (truncation below 6e-9), Horner form.
        FloatVector p = r.fma(FloatVector.broadcast(F, 1f / 5040), FloatVector.broadcast(F, 1f / 720));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 120));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(F, 0.5f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        IntVector e = ((IntVector) t.reinterpretAsInts()).sub(ROUND_BITS).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(e.reinterpretAsFloats());
    }
}

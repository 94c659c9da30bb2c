package dev.loraxj.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** RMSNorm as HF computes it in float32: {@code w * (x * rsqrt(mean(x²) + eps))}. */
public final class RmsNorm {

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = Vec.L;

    private RmsNorm() {
    }

    /** Normalises row {@code xo..xo+n) of x into {@code out[oo..oo+n)}. */
    public static void apply(float[] x, int xo, float[] weight, float eps, float[] out, int oo, int n) {
        float ss = Vec.dot(x, xo, x, xo, n);
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        int end = F.loopBound(n);
        int i = 0;
        for (; i < end; i += L) {
            FloatVector.fromArray(F, x, xo + i).mul(inv).mul(FloatVector.fromArray(F, weight, i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = (x[xo + i] * inv) * weight[i];
        }
    }

    /** Normalises {@code rows} consecutive rows of width {@code n}. */
    public static void rows(float[] x, float[] weight, float eps, float[] out, int rows, int n) {
        for (int r = 0; r < rows; r++) {
            apply(x, r * n, weight, eps, out, r * n, n);
        }
    }
}

package dev.loraxj.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** RMSNorm, RoPE, SiLU gating and the fixed-order reductions against double-precision references. */
class KernelsTest {

    @Test
    void dotMatchesDoubleForOddLengths() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int n : new int[] {1, 7, 15, 16, 17, 33, 100, 768}) {
            float[] a = MatmulTest.randomX(n + 3, n);
            float[] b = MatmulTest.randomX(n + 5, n + 1);
            double ref = 0, mag = 0;
            for (int i = 0; i < n; i++) {
                ref += (double) a[i + 3] * b[i + 5];
                mag += Math.abs((double) a[i + 3] * b[i + 5]);
            }
            // float32 accumulation, ~1e-6 relative to the magnitude sum.
            assertEquals(ref, Vec.dot(a, 3, b, 5, n), 1e-6 * mag + 1e-7, "n=" + n);
        }
        rnd.nextInt();
    }

    @Test
    void rmsNormMatchesDouble() {
        for (int n : new int[] {8, 17, 64, 100}) {
            float[] x = MatmulTest.randomX(2 * n, n);
            float[] w = MatmulTest.randomX(n, n + 7);
            float[] out = new float[2 * n];
            RmsNorm.rows(x, w, 1e-5f, out, 2, n);
            for (int r = 0; r < 2; r++) {
                double ss = 0;
                for (int i = 0; i < n; i++) {
                    ss += (double) x[r * n + i] * x[r * n + i];
                }
                double inv = 1 / Math.sqrt(ss / n + 1e-5);
                for (int i = 0; i < n; i++) {
                    // A few float roundings of values of order 1.
                    assertEquals(x[r * n + i] * inv * w[i], out[r * n + i], 1e-5, "n=" + n + " i=" + i);
                }
            }
        }
    }

    @Test
    void ropeRotatesPairsIAndIPlusHalfLikeHf() {
        int headDim = 8, half = 4, heads = 3;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            inv[i] = (float) (1.0 / Math.pow(10000, 2.0 * i / headDim));
        }
        Rope rope = new Rope(inv);
        int[] positions = {0, 1, 7, 300};
        rope.prepare(positions, positions.length);
        for (int t = 0; t < positions.length; t++) {
            float[] x = MatmulTest.randomX(heads * headDim, t);
            float[] before = x.clone();
            rope.rotate(x, 0, heads, t);
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < half; i++) {
                    double a = (double) (positions[t] * inv[i]);
                    double x1 = before[h * headDim + i], x2 = before[h * headDim + i + half];
                    // Float products of values below 1.
                    assertEquals(x1 * Math.cos(a) - x2 * Math.sin(a), x[h * headDim + i], 1e-6);
                    assertEquals(x2 * Math.cos(a) + x1 * Math.sin(a), x[h * headDim + i + half], 1e-6);
                }
            }
        }
    }

    @Test
    void vectorExpIsWithinTwoUlpOfMathExp() {
        float[] xs = new float[4096];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) rnd.nextDouble(-87, 88);
        }
        xs[0] = 0f;
        xs[1] = -87f;
        xs[2] = 88f;
        xs[3] = 1e-8f;
        for (int i = 0; i < xs.length; i += Vec.L) {
            float[] got = new float[Vec.L];
            VecMath.exp(jdk.incubator.vector.FloatVector.fromArray(Vec.F, xs, i)).intoArray(got, 0);
            for (int j = 0; j < Vec.L; j++) {
                double ref = Math.exp(xs[i + j]);
                // Documented bound: relative error below 2e-7 (about 2 ulp).
                assertEquals(ref, got[j], 2e-7 * ref, "exp(" + xs[i + j] + ")");
            }
        }
        float[] tiny = new float[Vec.L];
        java.util.Arrays.fill(tiny, -1000f);
        float[] out = new float[Vec.L];
        VecMath.exp(jdk.incubator.vector.FloatVector.fromArray(Vec.F, tiny, 0)).intoArray(out, 0);
        // Clamped at -87: e^-87 ~ 1.6e-38, as good as zero for softmax and SiLU.
        assertEquals(0, out[0], 1e-37);
    }

    @Test
    void packedReductionsEqualOneAtATimeBitForBit() {
        float[] buf = new float[Vec.SUMS_AT + 16];
        float[] values = MatmulTest.randomX(16 * Vec.L, 9);
        for (int i = 0; i < values.length; i++) {
            values[i] *= (float) Math.pow(10, i % 7 - 3);
        }
        System.arraycopy(values, 0, buf, 0, values.length);
        Vec.sums16(buf);
        for (int i = 0; i < 16; i++) {
            float one = Vec.sum(jdk.incubator.vector.FloatVector.fromArray(Vec.F, values, i * Vec.L));
            assertEquals(Float.floatToIntBits(one), Float.floatToIntBits(buf[Vec.SUMS_AT + i]), "accumulator " + i);
        }
        System.arraycopy(values, 0, buf, 0, values.length);
        Vec.sums8(buf);
        for (int i = 0; i < 8; i++) {
            float one = Vec.sum(jdk.incubator.vector.FloatVector.fromArray(Vec.F, values, i * Vec.L));
            assertEquals(Float.floatToIntBits(one), Float.floatToIntBits(buf[Vec.SUMS_AT + i]), "accumulator " + i);
        }
    }

    @Test
    void gatedSiluMatchesDouble() {
        float[] g = MatmulTest.randomX(37, 1);
        float[] u = MatmulTest.randomX(37, 2);
        for (int i = 0; i < g.length; i++) {
            g[i] *= 8;
        }
        float[] before = g.clone();
        GatedSilu.apply(g, u, 0, g.length);
        for (int i = 0; i < g.length; i++) {
            double x = before[i];
            // Three float roundings of values below 8.
            assertEquals(x / (1 + Math.exp(-x)) * u[i], g[i], 1e-5);
        }
    }
}

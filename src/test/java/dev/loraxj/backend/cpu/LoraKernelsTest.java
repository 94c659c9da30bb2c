package dev.loraxj.backend.cpu;

import dev.loraxj.model.DType;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The LoRA shrink and expand kernels, F32 and BF16, against double sums, at sizes off every chunk width. */
class LoraKernelsTest {

    private static final int L = Vec.L;
    private static final int[] SIZES = {1, 3, L - 1, L + 1, 2 * L, 2 * L + 3, 4 * L, 4 * L + 5, 9 * L + 7, 16 * L + 4 * L + 1, 75, 101};

    /** Float32 sums of n terms: a few ulps of the sum of magnitudes per term is far above the rounding, far below a bug. */
    private static double tolerance(double magnitude, int n) {
        return 1e-6 * magnitude * Math.sqrt(n) + 1e-30;
    }

    @Test
    void shrinkAndExpandMatchADoubleSum() {
        SplittableRandom random = new SplittableRandom(3);
        for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
            for (int rank = 1; rank <= 9; rank++) {
                for (int n : SIZES) {
                    int in = n;
                    int out = SIZES[(3 * rank + n) % SIZES.length];
                    LoraMatrix m = random(random, dtype, rank, in, out, 0.75f);
                    float[] x = floats(random, 3 + in);
                    float[] s = new float[2 + rank];
                    LoraKernels.shrink(m, x, 3, s, 2);
                    for (int j = 0; j < rank; j++) {
                        double want = 0, mag = 0;
                        for (int k = 0; k < in; k++) {
                            want += (double) m.a(j, k) * x[3 + k];
                            mag += Math.abs((double) m.a(j, k) * x[3 + k]);
                        }
                        assertEquals(0.75 * want, s[2 + j], tolerance(mag, in), dtype + " shrink row " + j + " of rank " + rank + ", in " + in);
                    }
                    float[] y = floats(random, 5 + out);
                    float[] y0 = y.clone();
                    LoraKernels.expand(m, s, 2, y, 5, 0, out);
                    for (int c = 0; c < out; c++) {
                        double want = y0[5 + c], mag = Math.abs(y0[5 + c]);
                        for (int j = 0; j < rank; j++) {
                            want += (double) s[2 + j] * m.bt(j, c);
                            mag += Math.abs((double) s[2 + j] * m.bt(j, c));
                        }
                        assertEquals(want, y[5 + c], tolerance(mag, rank), dtype + " expand column " + c + " of rank " + rank + ", out " + out);
                    }
                }
            }
        }
    }

    @Test
    void expandGivesTheSameBitsWhateverTheColumnBlocks() {
        SplittableRandom random = new SplittableRandom(4);
        for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
            for (int out : SIZES) {
                int rank = 1 + out % 9;
                LoraMatrix m = random(random, dtype, rank, 7, out, 1.5f);
                float[] s = floats(random, rank);
                float[] y = floats(random, out);
                float[] whole = y.clone();
                LoraKernels.expand(m, s, 0, whole, 0, 0, out);
                float[] blocks = y.clone();
                int c0 = 0;
                while (c0 < out) {
                    int c1 = Math.min(out, c0 + 4 * L * (1 + random.nextInt(3)));
                    LoraKernels.expand(m, s, 0, blocks, 0, c0, c1);
                    c0 = c1;
                }
                assertArrayEquals(whole, blocks, dtype + " out " + out);
            }
        }
    }

    private static LoraMatrix random(SplittableRandom random, DType dtype, int rank, int in, int out, float scale) {
        float[] a = floats(random, rank * in);
        float[] bt = floats(random, rank * out);
        if (dtype == DType.F32) {
            return new LoraMatrix.F32(rank, in, out, scale, a, bt);
        }
        return LoraMatrix.Bf16.pack(rank, in, out, scale, bits(a), bits(bt));
    }

    private static short[] bits(float[] v) {
        short[] out = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = DType.floatToBf16(v[i]);
        }
        return out;
    }

    private static float[] floats(SplittableRandom random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextDouble(-1, 1);
        }
        return out;
    }
}

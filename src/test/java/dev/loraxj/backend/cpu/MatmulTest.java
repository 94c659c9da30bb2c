package dev.loraxj.backend.cpu;

import dev.loraxj.backend.LinearModule;
import dev.loraxj.model.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batched matmul against a double-precision reference, and its order-independence bit for bit. */
class MatmulTest {

    /** Sizes around and off the 16-lane vector width. */
    private static final int[][] SIZES = {{5, 3}, {16, 4}, {37, 13}, {64, 9}, {100, 23}, {172, 64}, {513, 7}, {768, 12}};

    static Linear random(DType dtype, int rows, int cols, boolean bias, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemorySegment seg = Arena.ofAuto().allocate((long) rows * cols * dtype.bytes(), 64);
        for (long i = 0; i < (long) rows * cols; i++) {
            float v = (float) rnd.nextDouble(-1, 1);
            if (dtype == DType.BF16) {
                seg.setAtIndex(Matmul.I16, i, DType.floatToBf16(v));
            } else {
                seg.setAtIndex(Matmul.F32, i, v);
            }
        }
        float[] b = null;
        if (bias) {
            b = new float[rows];
            for (int i = 0; i < rows; i++) {
                b[i] = (float) rnd.nextDouble(-1, 1);
            }
        }
        return new Linear(LinearModule.Q, 0, seg, dtype, rows, cols, b);
    }

    static float[] randomX(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
        }
        return x;
    }

    static float weight(Linear w, long i) {
        return w.dtype() == DType.BF16 ? DType.bf16ToFloat(w.data().getAtIndex(Matmul.I16, i)) : w.data().getAtIndex(Matmul.F32, i);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void matchesDoubleReferenceForOddSizesAndOneToNineTokens(DType dtype) {
        for (int[] size : SIZES) {
            int in = size[0], out = size[1];
            for (boolean bias : new boolean[] {false, true}) {
                Linear w = random(dtype, out, in, bias, in * 31L + out);
                for (int T = 1; T <= 9; T++) {
                    float[] x = randomX(T * in, T);
                    float[] y = new float[T * out];
                    Matmul.apply(w, x, T, y);
                    for (int t = 0; t < T; t++) {
                        for (int r = 0; r < out; r++) {
                            double s = 0, mag = 0;
                            for (int k = 0; k < in; k++) {
                                double p = (double) weight(w, (long) r * in + k) * x[t * in + k];
                                s += p;
                                mag += Math.abs(p);
                            }
                            if (bias) {
                                s += w.bias()[r];
                                mag += Math.abs(w.bias()[r]);
                            }
                            // float32 accumulation: error grows with the sum of magnitudes, ~1e-6 relative per term.
                            double tol = 1e-6 * mag + 1e-7;
                            double err = Math.abs(s - y[t * out + r]);
                            int tt = t, rr = r, TT = T;
                            assertTrue(err <= tol, () -> dtype + " in=" + in + " out=" + out + " T=" + TT + " t=" + tt
                                    + " r=" + rr + ": err " + err + " > " + tol);
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void eachOutputIsBitIdenticalWhateverTileOrRowRangeItLandsIn(DType dtype) {
        // 7 to 11 tokens: F32 tiles of 3 tokens and their tails of 1 and 2 (AVX2), or of 6, 4 (8 = 4 + 4), 3 (7 = 4 + 3) and
        // 5 (3 + 2) (AVX-512), and the BF16 tile of 4 and its per-row tail; 22 and 23: BF16 rows widened once per block
        // (Matmul.WIDEN_TOKENS), then 6 + 6 + 6 + 4 and 6 + 6 + 6 + 3 + 2.
        assertTrue(22 >= Matmul.WIDEN_TOKENS, "22 tokens reach the widened BF16 path");
        for (int T : new int[] {7, 8, 9, 11, 22, 23}) {
            eachOutputIsBitIdenticalWhateverTileOrRowRangeItLandsIn(dtype, T);
        }
    }

    private static void eachOutputIsBitIdenticalWhateverTileOrRowRangeItLandsIn(DType dtype, int T) {
        for (int[] size : SIZES) {
            int in = size[0], out = size[1];
            Linear w = random(dtype, out, in, true, 7);
            float[] x = randomX(T * in, 11);
            float[] whole = new float[T * out];
            Matmul.apply(w, x, T, whole);
            // Each token alone (the 4x1 and 1x1 paths).
            for (int t = 0; t < T; t++) {
                float[] one = new float[out];
                Matmul.apply(w, Arrays.copyOfRange(x, t * in, (t + 1) * in), 1, one);
                assertArrayEquals(Arrays.copyOfRange(whole, t * out, (t + 1) * out), one, dtype + " T=" + T + " in=" + in + " token " + t);
            }
            // Rows split at odd boundaries (rows fall into the 1-row tail instead of a 4-row tile).
            float[] split = new float[T * out];
            float[] laid = new float[T * in];
            Matmul.layout(dtype, x, T, in, laid);
            for (int r0 = 0; r0 < out; r0 += 3) {
                Matmul.rows(w, laid, T, split, r0, Math.min(out, r0 + 3));
            }
            assertArrayEquals(whole, split, dtype + " T=" + T + " in=" + in + " rows split");
        }
    }
}

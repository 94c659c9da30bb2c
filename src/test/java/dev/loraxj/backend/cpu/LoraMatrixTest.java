package dev.loraxj.backend.cpu;

import dev.loraxj.model.DType;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link LoraMatrix} keeps every weight exactly, BF16 packing included, at every size, and accounts its bytes. */
class LoraMatrixTest {

    private static final int L = LoraMatrix.Bf16.LANES;

    /** Sizes around the kernels' widths (L, 2L, 4L) and below them, odd ones included. */
    private static final int[] SIZES = {1, 2, 3, L - 1, L, L + 1, 2 * L - 1, 2 * L, 2 * L + 3, 4 * L - 1, 4 * L, 4 * L + 1, 9 * L + 7, 75, 101};

    @Test
    void bf16PackingKeepsEveryWeightBitForBit() {
        SplittableRandom random = new SplittableRandom(1);
        for (int rank = 1; rank <= 9; rank++) {
            for (int n : SIZES) {
                int in = n;
                int out = SIZES[(rank + n) % SIZES.length];
                short[] a = randomBits(random, rank * in);
                short[] bt = randomBits(random, rank * out);
                LoraMatrix.Bf16 m = LoraMatrix.Bf16.pack(rank, in, out, 0.5f, a, bt);
                for (int j = 0; j < rank; j++) {
                    for (int k = 0; k < in; k++) {
                        assertEquals(Float.floatToRawIntBits(DType.bf16ToFloat(a[j * in + k])), Float.floatToRawIntBits(m.a(j, k)),
                                "A(" + j + ", " + k + ") of rank " + rank + ", in " + in);
                    }
                    for (int c = 0; c < out; c++) {
                        assertEquals(Float.floatToRawIntBits(DType.bf16ToFloat(bt[j * out + c])), Float.floatToRawIntBits(m.bt(j, c)),
                                "Bt(" + j + ", " + c + ") of rank " + rank + ", out " + out);
                    }
                }
                assertEquals(LoraMatrix.bytes(DType.BF16, rank, in, out), m.bytes());
                assertEquals(0.5f, m.scale());
            }
        }
    }

    @Test
    void f32KeepsEveryWeight() {
        SplittableRandom random = new SplittableRandom(2);
        for (int rank = 1; rank <= 9; rank++) {
            for (int n : SIZES) {
                int in = SIZES[(rank + n) % SIZES.length];
                int out = n;
                float[] a = randomFloats(random, rank * in);
                float[] bt = randomFloats(random, rank * out);
                LoraMatrix.F32 m = new LoraMatrix.F32(rank, in, out, 2f, a, bt);
                for (int j = 0; j < rank; j++) {
                    for (int k = 0; k < in; k++) {
                        assertEquals(a[j * in + k], m.a(j, k), "A(" + j + ", " + k + ") of rank " + rank + ", in " + in);
                    }
                    for (int c = 0; c < out; c++) {
                        assertEquals(bt[j * out + c], m.bt(j, c), "Bt(" + j + ", " + c + ") of rank " + rank + ", out " + out);
                    }
                }
                assertEquals(LoraMatrix.bytes(DType.F32, rank, in, out), m.bytes());
            }
        }
    }

    @Test
    void bf16HoldsHalfTheBytesOfF32AndF16IsWidened() {
        assertEquals(4L * 16 * (768 + 2048), LoraMatrix.bytes(DType.F32, 16, 768, 2048));
        assertEquals(2L * 16 * (768 + 2048), LoraMatrix.bytes(DType.BF16, 16, 768, 2048));
        // odd sizes round up to whole ints per row
        assertEquals(4L * 3 * (38 + 51), LoraMatrix.bytes(DType.BF16, 3, 75, 101));
        assertEquals(DType.BF16, LoraMatrix.storage(DType.BF16));
        assertEquals(DType.F32, LoraMatrix.storage(DType.F16));
        assertEquals(DType.F32, LoraMatrix.storage(DType.F32));
    }

    @Test
    void mismatchedSizesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new LoraMatrix.F32(2, 3, 4, 1f, new float[6], new float[7]));
        assertThrows(IllegalArgumentException.class, () -> LoraMatrix.Bf16.pack(2, 3, 4, 1f, new short[5], new short[8]));
    }

    private static short[] randomBits(SplittableRandom random, int n) {
        short[] out = new short[n];
        for (int i = 0; i < n; i++) {
            out[i] = DType.floatToBf16((float) (random.nextDouble(-1, 1) * Math.pow(10, random.nextInt(-3, 3))));
        }
        return out;
    }

    private static float[] randomFloats(SplittableRandom random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextDouble(-1, 1);
        }
        return out;
    }
}

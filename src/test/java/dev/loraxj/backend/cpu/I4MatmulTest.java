package dev.loraxj.backend.cpu;

import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.LinearModule;
import dev.loraxj.model.DType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * int4 weights quantized at load: the layout follows Q4_0's definition (read back here by an independent decoder of the
 * documented layout), every kernel equals a float64 reference on the dequantized weights, a row gives the same bits in
 * any batch, and on stories260K the logits stay near F32 (the figures are printed for the issue note).
 */
class I4MatmulTest {

    /** Widths: whole groups, 1.5 groups' worth of vectors, a real one, even but not a multiple of 16 or 32, and odd. */
    private static final int[] COLS = {64, 96, 2048, 200, 77};
    private static final int[] ROWS = {37, 9, 6, 23, 5};

    /** Weight (r, k) of an int4 matrix decoded from the documented layout, in float64: (q - 8) * d. */
    static double reference(Linear q, int r, int k) {
        return (nibble(q, r, k) - 8) * (double) q.scales()[r * ((q.cols() + 31) / 32) + k / 32];
    }

    /** Rows of 16 bytes per group of 32 inputs; byte j of group g: input 32g + j low, 32g + 16 + j high. */
    static int nibble(Linear q, int r, int k) {
        long rowBytes = (q.cols() + 31) / 32 * 16L;
        int b = q.data().get(ValueLayout.JAVA_BYTE, r * rowBytes + (k / 32) * 16L + (k % 32) % 16) & 0xFF;
        return k % 32 < 16 ? b & 0x0F : b >>> 4;
    }

    static Linear f32(int rows, int cols, float[] values) {
        MemorySegment seg = Arena.ofAuto().allocate((long) rows * cols * 4, 64);
        MemorySegment.copy(values, 0, seg, Matmul.F32, 0, values.length);
        return new Linear(LinearModule.Q, 0, seg, DType.F32, rows, cols, null);
    }

    @Test
    void quantizationFollowsQ4_0() {
        int rows = 9, cols = 77; // 32 + 32 + 13: the last group is short, and padded to 16 bytes
        Linear src = MatmulTest.random(DType.F32, rows, cols, false, 5);
        Linear q = I4Tiles.quantize(src, Arena.ofAuto());
        int groups = 3;
        assertEquals(rows * groups, q.scales().length);
        assertEquals(rows * groups * 16L, q.data().byteSize(), "16 bytes per group of 32, the last one padded");
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                float max = 0;
                int at = -1;
                for (int k = g * 32; k < Math.min(cols, g * 32 + 32); k++) {
                    float x = src.data().getAtIndex(Matmul.F32, r * (long) cols + k);
                    if (Math.abs(x) > Math.abs(max)) {
                        max = x;
                        at = k;
                    }
                }
                float d = max / -8f; // Q4_0: d = max / -8, max the signed input of largest magnitude
                assertEquals(d, q.scales()[r * groups + g], "scale of row " + r + ", group " + g);
                assertEquals(0, nibble(q, r, at), "the largest magnitude is q = 0");
                assertEquals(max, (float) reference(q, r, at), "and exactly -8 d");
                for (int k = g * 32; k < Math.min(cols, g * 32 + 32); k++) {
                    double x = src.data().getAtIndex(Matmul.F32, r * (long) cols + k);
                    double w = reference(q, r, k);
                    int n = nibble(q, r, k);
                    assertTrue(n >= 0 && n <= 15);
                    long expected = Math.min(15, (long) Math.floor(x / d + 8.5));
                    double frac = Math.abs(x / d + 8.5 - Math.floor(x / d + 8.5));
                    if (frac > 1e-5 && frac < 1 - 1e-5) { // float arithmetic may land a value at a half on the other side
                        assertEquals(expected, n, "q at row " + r + ", input " + k);
                    }
                    if (n < 15) {
                        assertTrue(Math.abs(x - w) <= Math.abs(d) * (0.5 + 1e-5), "row " + r + ", input " + k + ": " + x + " as " + w);
                    }
                }
            }
            for (int k = cols; k < groups * 32; k++) { // padding reads as q = 8, weight 0
                assertEquals(8, nibble(q, r, k), "padding at row " + r + ", input " + k);
            }
        }
    }

    @Test
    void theOppositeOfTheMaximumClampsToSevenAndTheNibblesSitAsQ4_0() {
        float[] v = new float[64];
        v[0] = 1f;   // first and largest, positive: d = -1/8
        v[1] = -1f;  // 8 steps on the other side: clamps to q = 15, weight +7 d = -0.875
        v[17] = 0.5f; // high nibble of byte 1: q = round(0.5 / -0.125) + 8 = 4
        v[32 + 5] = -2f; // second group, negative maximum: d = 0.25
        v[32 + 20] = 0.26f; // q = round(1.04) + 8 = 9, high nibble of byte 4 of block 1
        Linear q = I4Tiles.quantize(f32(1, 64, v), Arena.ofAuto());
        assertEquals(-0.125f, q.scales()[0]);
        assertEquals(0.25f, q.scales()[1]);
        assertEquals(1.0, reference(q, 0, 0));
        assertEquals(-0.875, reference(q, 0, 1));
        assertEquals(0.5, reference(q, 0, 17));
        assertEquals(-2.0, reference(q, 0, 37));
        assertEquals(0.25, reference(q, 0, 52));
        // the bytes themselves: low nibble input j, high nibble input j + 16 of each 32
        assertEquals((byte) 0x80, q.data().get(ValueLayout.JAVA_BYTE, 0), "input 0 (q 0) low, input 16 (q 8) high");
        assertEquals((byte) 0x4F, q.data().get(ValueLayout.JAVA_BYTE, 1), "input 1 (q 15) low, input 17 (q 4) high");
        assertEquals((byte) 0x98, q.data().get(ValueLayout.JAVA_BYTE, 16 + 4), "input 36 (q 8) low, input 52 (q 9) high");
        assertEquals((byte) 0x80, q.data().get(ValueLayout.JAVA_BYTE, 16 + 5), "input 37 (q 0) low, input 53 (q 8) high");
    }

    @Test
    void widenGivesTheDocumentedWeightsBitForBit() {
        for (int i = 0; i < COLS.length; i++) {
            int rows = ROWS[i], cols = COLS[i];
            Linear q = I4Tiles.quantize(MatmulTest.random(DType.BF16, rows, cols, false, cols), Arena.ofAuto());
            MemorySegment dst = Arena.ofAuto().allocate((long) rows * cols * 4, 64);
            I4Tiles.widen(q.data(), q.scales(), cols, 0, rows, dst);
            for (int r = 0; r < rows; r++) {
                for (int k = 0; k < cols; k++) {
                    // (q - 8) * d is exact in float64, so one rounding to float is what the kernel's float product gives
                    assertEquals((float) reference(q, r, k), dst.getAtIndex(Matmul.F32, (long) r * cols + k), rows + "x" + cols + " at " + r + ", " + k);
                }
            }
        }
    }

    /** Every kernel against float64 over the dequantized weights; 1e-5 of the sum of magnitudes (float32 accumulation). */
    @Test
    void kernelsEqualAFloat64ReferenceOnTheDequantizedWeights() {
        for (int i = 0; i < COLS.length; i++) {
            int rows = ROWS[i], cols = COLS[i];
            for (int T : new int[]{1, 3, 4, 9}) {
                Linear q = I4Tiles.quantize(MatmulTest.random(DType.F32, rows, cols, T % 2 == 1, rows * 31L + cols), Arena.ofAuto());
                float[] x = QuantizedQuality.input(T, cols, T);
                double[][] ref = new double[T * rows][];
                for (int t = 0; t < T; t++) {
                    for (int r = 0; r < rows; r++) {
                        double s = q.bias() == null ? 0 : q.bias()[r];
                        double mag = Math.abs(s);
                        for (int k = 0; k < cols; k++) {
                            double p = reference(q, r, k) * x[t * cols + k];
                            s += p;
                            mag += Math.abs(p);
                        }
                        ref[t * rows + r] = new double[]{s, 1e-5 * Math.max(mag, 1e-6)};
                    }
                }
                String at = rows + "x" + cols + ", T " + T;
                float[] y = new float[T * rows];
                Matmul.apply(q, x, T, y);
                for (int j = 0; j < y.length; j++) {
                    assertEquals(ref[j][0], y[j], ref[j][1], "Matmul, " + at + ", output " + j);
                }
                for (int t = 0; t < T; t++) {
                    for (int r = 0; r < rows; r++) {
                        float got = I4Tiles.dot(q.data(), q.scales(), cols, q.bias(), r, x, t);
                        assertEquals(ref[t * rows + r][0], got, ref[t * rows + r][1], "dot, " + at + ", token " + t + ", row " + r);
                    }
                }
                float[] y2 = new float[rows];
                for (int r = 0; r + 1 < rows; r += 2) {
                    I4Tiles.dot2(q.data(), q.scales(), cols, q.bias(), r, r + 1, x, y2);
                    assertEquals(ref[r][0], y2[r], ref[r][1], "dot2, " + at + ", row " + r);
                    assertEquals(ref[r + 1][0], y2[r + 1], ref[r + 1][1], "dot2, " + at + ", row " + (r + 1));
                }
            }
        }
    }

    @Test
    void aTokenGetsTheSameBitsAloneAndInABatchOfNine() {
        for (int i = 0; i < COLS.length; i++) {
            int rows = ROWS[i], cols = COLS[i];
            Linear q = I4Tiles.quantize(MatmulTest.random(DType.BF16, rows, cols, true, 77), Arena.ofAuto());
            QuantizedQuality.assertBatchInvariant(q, QuantizedQuality.input(9, cols, 3), 9);
        }
    }

    /**
     * Quality on the real model, per prompt position against the float32 golden logits: KL(F32 || int4) and top-1
     * agreement, without and with lora-name-max, and the greedy story of lora-name-max over the int4 base.
     */
    @Test
    void onStories260KTheLogitsStayNearFloat32() throws Exception {
        try (Stories260K f32 = Stories260K.open()) {
            CpuBackend i4 = CpuBackend.load(f32.ckpt(), f32.cfg(), f32.pool(), DType.I4);
            try {
                assertEquals("int4", i4.linearDtype());
                assertEquals("float32", i4.dtype());
                AdapterSlot max = i4.register(LoraWeights.read(SharedAssets.adapter("lora-name-max"), f32.cfg()).updates());
                for (String golden : new String[]{"base.logits.f32", "lora-name-max.logits.f32"}) {
                    QuantizedQuality.Figures f = QuantizedQuality.prompt(i4, golden.startsWith("lora") ? max : null, golden);
                    double kl = f.meanKl();
                    int agree = f.agree();
                    System.out.printf("INT4 quality on stories260K, %s: mean KL %.2e, worst KL %.2e, top-1 agreement %d/13%n",
                            golden.replace(".logits.f32", ""), kl, f.worstKl(), agree);
                    // int4's step (max/8) is 16x int8's (max/127), and KL grows as the square of the logit error: about 250x
                    // int8's 7e-5, i.e. 2e-2 (measured 2.3e-2 base, 1.3e-2 with the LoRA); the bound leaves 4x of that
                    assertTrue(kl < 0.1, "mean KL " + kl);
                    // the top token moves only where the float32 margin is thin (measured 13/13 and 12/13)
                    assertTrue(agree >= 11, "top-1 agreement " + agree + "/13");
                }
                String text = QuantizedQuality.greedyStory(i4, max, 40);
                System.out.println("INT4 greedy story with lora-name-max: " + text);
                // measured, not forced: the LoRA still names the girl Max over the int4 base
                assertTrue(text.contains("Max"), "int4 base with lora-name-max: " + text);
            } finally {
                i4.close();
            }
        }
    }
}

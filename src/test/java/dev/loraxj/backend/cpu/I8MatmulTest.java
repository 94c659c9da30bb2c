package dev.loraxj.backend.cpu;


import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.model.DType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * int8 weights quantized at load: the layout follows Q8_0's definition, the kernel equals a float64
 * reference on the dequantized weights, a row gives the same bits in any batch, and on stories260K
 * the logits stay close to F32 (the figures are printed for the issue note).
 */
class I8MatmulTest {

    /** Sizes around the 32-input group and the vector widths, with a short last group. */
    private static final int[][] SIZES = {{5, 3}, {16, 32}, {37, 45}, {64, 64}, {100, 77}, {172, 64}, {64, 172}};

    @Test
    void quantizationFollowsQ8_0() {
        Linear src = MatmulTest.random(DType.F32, 9, 77, false, 5);
        Linear q = I8Tiles.quantize(src, Arena.ofAuto());
        int groups = 3; // 32 + 32 + 13
        assertEquals(9 * groups, q.scales().length);
        for (int r = 0; r < 9; r++) {
            for (int g = 0; g < groups; g++) {
                double max = 0;
                for (int k = g * 32; k < Math.min(77, g * 32 + 32); k++) {
                    max = Math.max(max, Math.abs(src.data().getAtIndex(Matmul.F32, r * 77L + k)));
                }
                double d = max / 127; // Q8_0: d = amax / 127, q = round(x / d)
                assertEquals(d, q.scales()[r * groups + g], d * 1e-6, "scale of row " + r + ", group " + g);
                for (int k = g * 32; k < Math.min(77, g * 32 + 32); k++) {
                    double x = src.data().getAtIndex(Matmul.F32, r * 77L + k);
                    long expected = Math.round(x / d);
                    byte got = q.data().get(ValueLayout.JAVA_BYTE, r * 77L + k);
                    // float arithmetic may land a value that sits within 1e-6 of a half on the other side
                    double frac = Math.abs(Math.abs(x / d) - Math.floor(Math.abs(x / d)) - 0.5);
                    if (frac > 1e-5) {
                        assertEquals(expected, got, "q at row " + r + ", input " + k);
                    }
                    assertTrue(Math.abs(got) <= 127);
                }
            }
        }
        assertEquals(-3, I8Tiles.roundHalfAway(-2.5f), "halves go away from zero, as C's roundf");
        assertEquals(3, I8Tiles.roundHalfAway(2.5f));
    }

    /** The kernel against float64 over the dequantized weights; 1e-5 of the sum of magnitudes (float32 accumulation). */
    @Test
    void kernelEqualsAFloat64ReferenceOnTheDequantizedWeights() {
        for (int[] size : SIZES) {
            for (int T : new int[]{1, 2, 3, 4, 5, 9, 17}) {
                int rows = size[0], cols = size[1];
                Linear q = I8Tiles.quantize(MatmulTest.random(DType.F32, rows, cols, T % 2 == 0, rows * 31L + cols), Arena.ofAuto());
                float[] x = QuantizedQuality.input(T, cols, T);
                float[] y = new float[T * rows];
                Matmul.apply(q, x, T, y);
                for (int t = 0; t < T; t++) {
                    for (int r = 0; r < rows; r++) {
                        double ref = q.bias() == null ? 0 : q.bias()[r];
                        double mag = Math.abs(ref);
                        for (int k = 0; k < cols; k++) {
                            double w = q.data().get(ValueLayout.JAVA_BYTE, (long) r * cols + k) * (double) q.scales()[r * Linear.groups(cols) + k / 32];
                            ref += w * x[t * cols + k];
                            mag += Math.abs(w * x[t * cols + k]);
                        }
                        assertEquals(ref, y[t * rows + r], 1e-5 * Math.max(mag, 1e-6), rows + "x" + cols + ", T " + T + ", row " + r);
                    }
                }
            }
        }
    }

    @Test
    void aTokenGetsTheSameBitsAloneAndInAnyBatch() {
        for (int[] size : SIZES) {
            int rows = size[0], cols = size[1];
            Linear q = I8Tiles.quantize(MatmulTest.random(DType.BF16, rows, cols, true, 77), Arena.ofAuto());
            QuantizedQuality.assertBatchInvariant(q, QuantizedQuality.input(13, cols, 3), 13);
        }
    }

    /**
     * Quality on the real model, per prompt position against the float32 golden logits: KL(F32 || int8)
     * and top-1 agreement, without and with lora-name-max (whose greedy story still names Max).
     */
    @Test
    void onStories260KTheLogitsStayCloseToFloat32() throws Exception {
        try (Stories260K f32 = Stories260K.open()) {
            CpuBackend i8 = CpuBackend.load(f32.ckpt(), f32.cfg(), f32.pool(), DType.I8);
            try {
                assertEquals("int8", i8.linearDtype());
                assertEquals("float32", i8.dtype());
                AdapterSlot max = i8.register(LoraWeights.read(SharedAssets.adapter("lora-name-max"), f32.cfg()).updates());
                for (String golden : new String[]{"base.logits.f32", "lora-name-max.logits.f32"}) {
                    QuantizedQuality.Figures f = QuantizedQuality.prompt(i8, golden.startsWith("lora") ? max : null, golden);
                    double kl = f.meanKl();
                    int agree = f.agree();
                    System.out.printf("INT8 quality on stories260K, %s: mean KL %.2e, worst KL %.2e, top-1 agreement %d/13%n",
                            golden.replace(".logits.f32", ""), kl, f.worstKl(), agree);
                    // int8 with 32-input groups keeps 3 significant digits of every weight: KL in the 1e-4 range
                    assertTrue(kl < 1e-3, "mean KL " + kl);
                    assertTrue(agree >= 12, "top-1 agreement " + agree + "/13");
                }
                // the LoRA over the int8 base still names the girl Max, greedy from the prompt
                String text = QuantizedQuality.greedyStory(i8, max, 40);
                assertTrue(text.contains("Max"), "int8 base with lora-name-max: " + text);
            } finally {
                i8.close();
            }
        }
    }
}

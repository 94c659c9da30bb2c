package dev.loraxj.backend.cpu;

import dev.loraxj.backend.Sequences;

import dev.loraxj.SharedAssets;
import dev.loraxj.model.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A bfloat16 KV cache: half the bytes, the goldens within bfloat16's rounding, and results still independent of the batch. */
class Bf16KvCacheTest {

    /**
     * K and V rounded to 8 mantissa bits (relative error at most 2^-9) move the logits (up to ~20) by
     * up to about 0.1 against the F32 golden (0.077 measured); the greedy token does not change.
     */
    private static final float TOLERANCE = 0.15f;
    /**
     * Against a float64 reference that rounds its K and V to bfloat16 too, only float32 arithmetic
     * differs, plus the rare element whose float32 and float64 values round to neighbouring bfloat16s: one
     * ulp (2^-7 relative) in one K or V element, which moves every later position's logits by up to a few
     * hundredths (measured on Zen 3 with AVX2's 8-lane sums: max 0.036, mean 0.0023; no flip with AVX-512's
     * 16-lane sums, where the max was below 5e-3). So the mean is held to 5e-3 and the max to {@link #FLIP_TOLERANCE}.
     */
    private static final float REFERENCE_TOLERANCE = 5e-3f;
    private static final float FLIP_TOLERANCE = 0.05f;

    private static Stories260K model;
    private static CpuBackend backend;

    @BeforeAll
    static void load() {
        model = Stories260K.open();
        backend = model.backend();
        backend.kvDtype(DType.BF16);
    }

    @AfterAll
    static void close() {
        backend.kvDtype(DType.F32);
        model.close();
    }

    @Test
    void halvesTheBytesPerToken() {
        assertEquals("bfloat16", backend.kvDtype());
        assertEquals(2L * 5 * 32 * 2, backend.kvBytesPerToken(), "K and V, 5 layers, 4 KV heads of 8, 2 bytes each");
    }

    @Test
    void promptLogitsMatchTheGoldenWithinBfloat16Rounding() {
        float[] golden = SharedAssets.floats("base.logits.f32");
        for (int chunk : new int[]{13, 4, 1}) {
            Sequences seqs = new Sequences(backend, 8, 16);
            float[] got = seqs.prefill(seqs.add(13), SharedAssets.PROMPT, chunk);
            float worst = 0;
            for (int i = 0; i < golden.length; i++) {
                worst = Math.max(worst, Math.abs(golden[i] - got[i]));
            }
            assertTrue(worst < TOLERANCE, "chunk " + chunk + ": max |logit - golden| = " + worst);
            assertTrue(worst > 0, "bfloat16 rounding shows: the cache really is bfloat16");
            int last = 12 * 512;
            assertEquals(Sequences.argmax(golden, last, 512), Sequences.argmax(got, last, 512), "the greedy next token");
        }
    }

    @Test
    void promptLogitsMatchAFloat64ReferenceWithABfloat16Cache() {
        double[][] ref = new ReferenceLlama(model.ckpt(), model.cfg()).withBf16Kv().logits(SharedAssets.PROMPT);
        Sequences seqs = new Sequences(backend, 8, 16);
        float[] got = seqs.prefill(seqs.add(13), SharedAssets.PROMPT, 5);
        double worst = 0, sum = 0;
        for (int t = 0; t < 13; t++) {
            for (int i = 0; i < 512; i++) {
                double d = Math.abs(ref[t][i] - got[t * 512 + i]);
                worst = Math.max(worst, d);
                sum += d;
            }
        }
        double mean = sum / (13 * 512);
        assertTrue(mean < REFERENCE_TOLERANCE, "mean |logit - bf16-KV reference| = " + mean);
        assertTrue(worst < FLIP_TOLERANCE, "max |logit - bf16-KV reference| = " + worst + " (mean " + mean + ")");
    }

    @Test
    void aSequenceGetsTheSameBitsAloneAndBesideOthers() {
        Sequences alone = new Sequences(backend, 16, 4);
        int a = alone.add(13);
        float[] solo = alone.prefill(a, SharedAssets.PROMPT, 3);
        Sequences together = new Sequences(backend, 16, 4);
        int other = together.add(20);
        int b = together.add(13);
        float[] mixed = null;
        for (int pos = 0; pos < 13; pos += 3) {
            int n = Math.min(3, 13 - pos);
            float[][] out = together.step(new Sequences.Run(other, new int[]{5, 6, 7}, false),
                    new Sequences.Run(b, java.util.Arrays.copyOfRange(SharedAssets.PROMPT, pos, pos + n), true));
            float[] rows = out[1];
            if (mixed == null) {
                mixed = new float[13 * 512];
            }
            System.arraycopy(rows, 0, mixed, pos * 512, rows.length);
        }
        assertArrayEquals(solo, mixed);
    }

    @Test
    void roundsToNearestEven() {
        assertEquals((short) 0x3f80, KvCache.toBf16(1.0f));
        assertEquals((short) 0x3f80, KvCache.toBf16(Float.intBitsToFloat(0x3f808000)), "a tie rounds to the even 0x3f80");
        assertEquals((short) 0x3f82, KvCache.toBf16(Float.intBitsToFloat(0x3f818000)), "a tie rounds to the even 0x3f82");
        assertEquals((short) 0x3f81, KvCache.toBf16(Float.intBitsToFloat(0x3f808001)), "above the tie rounds up");
        assertTrue(Float.isNaN(Float.intBitsToFloat(KvCache.toBf16(Float.NaN) << 16)));
        assertEquals((short) 0x7f80, KvCache.toBf16(Float.POSITIVE_INFINITY));
    }
}

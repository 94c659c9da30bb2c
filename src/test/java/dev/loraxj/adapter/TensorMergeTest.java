package dev.loraxj.adapter;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The merge strategies against hand computations and statistics. */
class TensorMergeTest {

    static final float[] A = {0.5f, -1.0f, 0.1f, 2.0f, -0.3f, 0.0f};
    static final float[] B = {-0.4f, -2.0f, 0.2f, -1.0f, 0.6f, 0.05f};

    static float[] merge(MergeSpec.Strategy s, float density, MergeSpec.SignMethod sign, float... w) {
        return TensorMerge.merge(List.of(A, B), w, s, density, sign, new SplittableRandom(1));
    }

    @Test
    void linearIsTheWeightedSum() {
        float[] m = merge(MergeSpec.Strategy.LINEAR, 1, MergeSpec.SignMethod.TOTAL, 0.7f, 0.3f);
        for (int i = 0; i < A.length; i++) {
            assertEquals(0.7f * A[i] + 0.3f * B[i], m[i], 1e-7f);
        }
    }

    @Test
    void tiesPrunesElectsASignAndAveragesTheAgreeingEntries() {
        // density 0.5 keeps the top 3 by magnitude of each: A -> {-1.0, 2.0, 0.5}, B -> {-2.0, -1.0, 0.6}
        float[] total = merge(MergeSpec.Strategy.TIES, 0.5f, MergeSpec.SignMethod.TOTAL, 0.5f, 0.5f);
        // entry 0: A 0.5, B 0 -> sum 0.5 (+): only A agrees -> 0.5*0.5/1
        // entry 1: -1, -2 -> (-): both -> (0.5*-1 + 0.5*-2)/2
        // entry 2: both pruned -> 0
        // entry 3: 2, -1 -> sum 1 (+): A -> 0.5*2/1
        // entry 4: A pruned, B 0.6 -> (+): B -> 0.5*0.6/1
        // entry 5: 0, 0 -> 0
        assertArrayEquals(new float[] {0.25f, -0.75f, 0f, 1.0f, 0.3f, 0f}, total, 1e-7f);
        float[] frequency = merge(MergeSpec.Strategy.TIES, 0.5f, MergeSpec.SignMethod.FREQUENCY, 0.5f, 0.5f);
        // entry 3: signs +1, -1 -> sum 0 counts as +: A -> 1.0 (same as total here)
        assertArrayEquals(new float[] {0.25f, -0.75f, 0f, 1.0f, 0.3f, 0f}, frequency, 1e-7f);
        float[] differ = TensorMerge.merge(List.of(new float[] {3f}, new float[] {-1f}, new float[] {-1f}), new float[] {1, 1, 1},
                MergeSpec.Strategy.TIES, 1f, MergeSpec.SignMethod.FREQUENCY, new SplittableRandom(1));
        assertArrayEquals(new float[] {-1f}, differ, 0f, "frequency: two votes against one, whatever the magnitudes");
        float[] byTotal = TensorMerge.merge(List.of(new float[] {3f}, new float[] {-1f}, new float[] {-1f}), new float[] {1, 1, 1},
                MergeSpec.Strategy.TIES, 1f, MergeSpec.SignMethod.TOTAL, new SplittableRandom(1));
        assertArrayEquals(new float[] {3f}, byTotal, 0f, "total: the sum 3-1-1 is positive");
    }

    @Test
    void dareKeepsTheDensityFractionRescaledAndIsSeeded() {
        int n = 200_000;
        float[] ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        float density = 0.3f;
        float[] d = TensorMerge.merge(List.of(ones), new float[] {1}, MergeSpec.Strategy.DARE_LINEAR, density,
                MergeSpec.SignMethod.TOTAL, new SplittableRandom(7));
        int kept = 0;
        for (float v : d) {
            if (v != 0) {
                kept++;
                assertEquals(1 / density, v, 1e-6f, "kept entries are rescaled by 1/density");
            }
        }
        // binomial: sd = sqrt(n p (1-p)) ~ 205; 5 sd
        assertEquals(density * n, kept, 5 * Math.sqrt(n * density * (1 - density)));
        float[] again = TensorMerge.merge(List.of(ones), new float[] {1}, MergeSpec.Strategy.DARE_LINEAR, density,
                MergeSpec.SignMethod.TOTAL, new SplittableRandom(7));
        assertArrayEquals(d, again, 0f, "the same seed gives the same merge");
    }

    @Test
    void theMeanOfManyDareMergesApproachesTheUndroppedMerge() {
        float[] sum = new float[A.length];
        int runs = 40_000;
        SplittableRandom random = new SplittableRandom(3);
        for (int r = 0; r < runs; r++) {
            float[] m = TensorMerge.merge(List.of(A, B), new float[] {0.7f, 0.3f}, MergeSpec.Strategy.DARE_LINEAR, 0.5f,
                    MergeSpec.SignMethod.TOTAL, random);
            for (int i = 0; i < m.length; i++) {
                sum[i] += m[i];
            }
        }
        for (int i = 0; i < A.length; i++) {
            float undropped = 0.7f * A[i] + 0.3f * B[i];
            // each entry's DARE estimate has variance (w a)^2 (1-p)/p per adapter; 5 standard errors of the mean
            double sd = Math.sqrt((Math.pow(0.7 * A[i], 2) + Math.pow(0.3 * B[i], 2)) * (1 - 0.5) / 0.5 / runs);
            assertEquals(undropped, sum[i] / runs, 5 * sd + 1e-6, "entry " + i);
        }
        assertTrue(true);
    }
}

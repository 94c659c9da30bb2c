package dev.loraxj.engine;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LogSumExpTest {

    @Test
    void vectorExpIsWithinTwoUlpOfMathExp() {
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        float[] x = new float[lanes];
        float[] y = new float[lanes];
        SplittableRandom r = new SplittableRandom(3);
        for (int trial = 0; trial < 20_000; trial++) {
            for (int i = 0; i < lanes; i++) {
                x[i] = (float) -r.nextDouble(0, 87);
            }
            LogSumExp.exp(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, 0)).intoArray(y, 0);
            for (int i = 0; i < lanes; i++) {
                double want = Math.exp(x[i]);
                assertEquals(want, y[i], 2 * Math.ulp((float) want), "exp(" + x[i] + ")");
            }
        }
    }

    @Test
    void sumExpMatchesADoubleReferenceAndIgnoresMaskedEntries() {
        SplittableRandom r = new SplittableRandom(5);
        for (int n : new int[] {1, 7, 16, 33, 512, 1000, 150_001}) {
            float[] a = new float[n + 3];
            for (int i = 0; i < a.length; i++) {
                a[i] = r.nextInt(10) == 0 ? Float.NEGATIVE_INFINITY : (float) r.nextGaussian() * 8;
            }
            float max = LogSumExp.max(a, 2, 2 + n);
            double want = 0;
            for (int i = 2; i < 2 + n; i++) {
                if (a[i] > Float.NEGATIVE_INFINITY) {
                    want += Math.exp((double) a[i] - max);
                }
            }
            // float lanes summed in blocks: relative error stays near float epsilon
            assertEquals(want, LogSumExp.sumExp(a, 2, 2 + n, max), want * 2e-6, "n = " + n);
        }
    }
}

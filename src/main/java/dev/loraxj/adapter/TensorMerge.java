package dev.loraxj.adapter;

import java.util.List;
import java.util.SplittableRandom;

/**
 * LoRAX's merge strategies on one tensor position (a lora_A or a lora_B of one module), over the
 * task tensors of the adapters that have it (an adapter without the module counts as zeros):
 * linear {@code Σ wᵢTᵢ}; TIES keeps each tensor's top ⌊density·n⌋ entries by magnitude, elects a sign
 * per entry (total: sign of the sum; frequency: sign of the sum of signs; 0 counts as +) and takes
 * {@code Σ wᵢTᵢMᵢ / max(ΣMᵢ, 1)}; DARE drops entries at random, keeping each with probability
 * {@code density} and rescaling kept ones by 1/density (the DARE paper; LoRAX drops the rescale).
 */
public final class TensorMerge {

    private TensorMerge() {
    }

    /**
     * Merges same-shaped task tensors. {@code random} draws DARE's drops (one stream per merge, in a
     * fixed order of tensors, so a seed reproduces the merge).
     */
    public static float[] merge(List<float[]> tensors, float[] weights, MergeSpec.Strategy strategy, float density,
                                MergeSpec.SignMethod sign, SplittableRandom random) {
        int n = tensors.getFirst().length;
        float[][] t = new float[tensors.size()][];
        for (int i = 0; i < t.length; i++) {
            if (tensors.get(i).length != n) {
                throw new AdapterException("cannot merge tensors of " + tensors.get(i).length + " and " + n + " elements");
            }
            t[i] = switch (strategy) {
                case LINEAR -> tensors.get(i);
                case TIES -> density >= 1 ? tensors.get(i) : magnitudePrune(tensors.get(i), density);
                case DARE_LINEAR, DARE_TIES -> density >= 1 ? tensors.get(i) : randomPrune(tensors.get(i), density, random);
            };
        }
        return strategy == MergeSpec.Strategy.LINEAR || strategy == MergeSpec.Strategy.DARE_LINEAR
                ? linear(t, weights) : disjoint(t, weights, sign);
    }

    static float[] linear(float[][] t, float[] w) {
        float[] out = new float[t[0].length];
        for (int j = 0; j < out.length; j++) {
            float s = 0;
            for (int i = 0; i < t.length; i++) {
                s += w[i] * t[i][j];
            }
            out[j] = s;
        }
        return out;
    }

    /** TIES' sign election and disjoint mean; signs are elected on the unweighted tensors. */
    static float[] disjoint(float[][] t, float[] w, MergeSpec.SignMethod method) {
        float[] out = new float[t[0].length];
        for (int j = 0; j < out.length; j++) {
            float votes = 0;
            for (float[] ti : t) {
                votes += method == MergeSpec.SignMethod.TOTAL ? ti[j] : Math.signum(ti[j]);
            }
            float elected = votes >= 0 ? 1f : -1f;
            float sum = 0;
            int agree = 0;
            for (int i = 0; i < t.length; i++) {
                if (Math.signum(t[i][j]) == elected) {
                    sum += w[i] * t[i][j];
                    agree++;
                }
            }
            out[j] = sum / Math.max(agree, 1);
        }
        return out;
    }

    /** Keeps the top ⌊density·n⌋ entries by magnitude (ties broken by lower index), zeroes the rest. */
    static float[] magnitudePrune(float[] t, float density) {
        int k = (int) (density * t.length);
        Integer[] order = new Integer[t.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> {
            int c = Float.compare(Math.abs(t[b]), Math.abs(t[a]));
            return c != 0 ? c : Integer.compare(a, b);
        });
        float[] out = new float[t.length];
        for (int i = 0; i < k; i++) {
            out[order[i]] = t[order[i]];
        }
        return out;
    }

    /** Keeps each entry with probability {@code density}, rescaled by 1/density. */
    static float[] randomPrune(float[] t, float density, SplittableRandom random) {
        float[] out = new float[t.length];
        for (int i = 0; i < t.length; i++) {
            if (random.nextDouble() < density) {
                out[i] = t[i] / density;
            }
        }
        return out;
    }
}

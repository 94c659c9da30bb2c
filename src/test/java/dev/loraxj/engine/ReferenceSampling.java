package dev.loraxj.engine;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * A direct, double-precision transcription of Hugging Face's logits processors and warpers (full
 * sorts, -inf masks), to hold {@link Sampler} to. Also records how close any top_p / typical_p
 * decision came to its threshold, so a test can skip cases float rounding could tip either way.
 */
final class ReferenceSampling {

    /** The smallest distance seen between a cumulative mass and the threshold it was compared with. */
    double margin = Double.POSITIVE_INFINITY;

    double[] process(float[] logits, SamplingParams p, int[] history, int historyLength, int promptLength) {
        int v = logits.length;
        double[] s = new double[v];
        for (int i = 0; i < v; i++) {
            s[i] = logits[i];
        }
        for (Map.Entry<Integer, Float> e : p.logitBias().entrySet()) {
            s[e.getKey()] += e.getValue();
        }
        if (p.repetitionPenalty() != 1f) {
            boolean[] done = new boolean[v];
            for (int i = 0; i < historyLength; i++) {
                int id = history[i];
                if (!done[id]) {
                    done[id] = true;
                    s[id] = s[id] < 0 ? s[id] * p.repetitionPenalty() : s[id] / p.repetitionPenalty();
                }
            }
        }
        int[] counts = new int[v];
        for (int i = promptLength; i < historyLength; i++) {
            counts[history[i]]++;
        }
        for (int i = 0; i < v; i++) {
            s[i] -= counts[i] * (double) p.frequencyPenalty() + (counts[i] > 0 ? p.presencePenalty() : 0);
        }
        if (!p.sampling()) {
            return s;
        }
        if (p.temperature() != 1f) {
            for (int i = 0; i < v; i++) {
                s[i] /= p.temperature();
            }
        }
        if (p.topK() > 0) {
            topK(s, p.topK());
        }
        if (p.topP() < 1f) {
            topP(s, p.topP());
        }
        if (p.typicalP() < 1f) {
            typical(s, p.typicalP());
        }
        return s;
    }

    /** scores < the k-th largest become -inf. */
    static void topK(double[] s, int k) {
        double[] sorted = s.clone();
        Arrays.sort(sorted);
        double kth = sorted[s.length - Math.min(k, s.length)];
        for (int i = 0; i < s.length; i++) {
            if (s[i] < kth) {
                s[i] = Double.NEGATIVE_INFINITY;
            }
        }
    }

    /** Ascending sort, cumulative softmax, remove where cumulative <= 1 - p, always keep the top one. */
    void topP(double[] s, float p) {
        Integer[] order = ascending(s);
        double[] probs = softmax(s, order);
        double cut = 1.0 - p;
        double cumulative = 0;
        double previous = Double.NaN;
        for (int j = 0; j < order.length; j++) {
            cumulative += probs[j];
            boolean last = j == order.length - 1;
            if (cumulative <= cut && !last) {
                s[order[j]] = Double.NEGATIVE_INFINITY;
            } else if (!(previous > cut) && !last) {
                // the first kept token: the decision here and just before it is what rounding could flip
                margin = Math.min(margin, Math.abs(cumulative - cut));
                if (!Double.isNaN(previous) && probs[j - 1] > 0) {
                    margin = Math.min(margin, Math.abs(previous - cut));
                }
            }
            previous = cumulative;
        }
    }

    /** Sort by |-log p - entropy|, keep up to the first index whose cumulative mass reaches `mass`. */
    void typical(double[] s, float mass) {
        double[] logp = logSoftmax(s);
        double entropy = 0;
        for (double lp : logp) {
            if (lp > Double.NEGATIVE_INFINITY) {
                entropy -= Math.exp(lp) * lp;
            }
        }
        double[] shifted = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            shifted[i] = Math.abs(-logp[i] - entropy);
        }
        Integer[] order = IntStream.range(0, s.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> shifted[i])).toArray(Integer[]::new);
        double cumulative = 0;
        int lastInd = 0;
        for (int j = 0; j < order.length; j++) {
            double prob = Math.exp(logp[order[j]]);
            cumulative += prob;
            if (cumulative < mass) {
                lastInd++;
            } else if (j == lastInd && prob > 0) {
                // where the cumulative mass first reaches `mass`, and the step before it
                margin = Math.min(margin, Math.min(Math.abs(cumulative - mass), Math.abs(cumulative - prob - mass)));
            }
        }
        lastInd = Math.min(lastInd, s.length - 1);
        double threshold = shifted[order[lastInd]];
        for (int j = 0; j < order.length; j++) {
            if (j > 0 && shifted[order[j]] > threshold) {
                s[order[j]] = Double.NEGATIVE_INFINITY;
            }
        }
    }

    static double[] logSoftmax(double[] s) {
        double max = Double.NEGATIVE_INFINITY;
        for (double x : s) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (double x : s) {
            sum += Math.exp(x - max);
        }
        double[] out = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[i] - max - Math.log(sum);
        }
        return out;
    }

    private static Integer[] ascending(double[] s) {
        return IntStream.range(0, s.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> s[i])).toArray(Integer[]::new);
    }

    private static double[] softmax(double[] s, Integer[] order) {
        double[] lp = logSoftmax(s);
        double[] out = new double[order.length];
        for (int j = 0; j < order.length; j++) {
            out[j] = Math.exp(lp[order[j]]);
        }
        return out;
    }
}

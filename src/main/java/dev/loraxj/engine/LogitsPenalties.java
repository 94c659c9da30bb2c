package dev.loraxj.engine;

import java.util.Map;

/**
 * The logits processors that run before the warpers, in this order: logit_bias (added to the raw
 * logits), repetition_penalty (HF: once per distinct id of prompt and generated tokens), then
 * frequency and presence penalties (OpenAI: over generated tokens only).
 */
final class LogitsPenalties {

    private final int[] biasIds;
    private final float[] biasValues;
    private final float repetition;
    private final float frequency;
    private final float presence;
    private final long[] seen;
    private final int[] counts;

    private LogitsPenalties(SamplingParams p, int vocab) {
        biasIds = new int[p.logitBias().size()];
        biasValues = new float[biasIds.length];
        int n = 0;
        for (Map.Entry<Integer, Float> e : p.logitBias().entrySet()) {
            if (e.getKey() >= vocab) {
                throw new IllegalArgumentException("logit_bias token id " + e.getKey()
                        + " is outside the vocabulary (size " + vocab + ")");
            }
            biasIds[n] = e.getKey();
            biasValues[n++] = e.getValue();
        }
        repetition = p.repetitionPenalty();
        frequency = p.frequencyPenalty();
        presence = p.presencePenalty();
        seen = repetition != 1f ? new long[(vocab + 63) >>> 6] : null;
        counts = frequency != 0f || presence != 0f ? new int[vocab] : null;
    }

    /** The penalties these parameters ask for, or null when they change nothing. */
    static LogitsPenalties of(SamplingParams p, int vocab) {
        boolean none = p.logitBias().isEmpty() && p.repetitionPenalty() == 1f
                && p.frequencyPenalty() == 0f && p.presencePenalty() == 0f;
        return none ? null : new LogitsPenalties(p, vocab);
    }

    void apply(float[] scores, int[] history, int historyLength, int promptLength) {
        int vocab = scores.length;
        for (int i = 0; i < biasIds.length; i++) {
            scores[biasIds[i]] += biasValues[i];
        }
        if (seen != null) {
            for (int i = 0; i < historyLength; i++) {
                int id = history[i];
                if (id >= 0 && id < vocab && (seen[id >>> 6] & (1L << id)) == 0) {
                    seen[id >>> 6] |= 1L << id;
                    double s = scores[id];
                    scores[id] = saturate(s < 0 ? s * repetition : s / repetition);
                }
            }
            clear(history, historyLength);
        }
        if (counts != null) {
            int from = Math.max(0, promptLength);
            for (int i = from; i < historyLength; i++) {
                int id = history[i];
                if (id >= 0 && id < vocab) {
                    counts[id]++;
                }
            }
            for (int i = from; i < historyLength; i++) {
                int id = history[i];
                if (id >= 0 && id < vocab && counts[id] > 0) {
                    scores[id] = scores[id] - counts[id] * frequency - presence;
                    // zeroed on first visit, so each distinct id is penalised once
                    counts[id] = 0;
                }
            }
        }
    }

    /** Past this magnitude a penalized score is compressed (logarithmically) instead of overflowing a float. */
    static final double SATURATION = 1e37;

    /**
     * The score as a float, order kept: beyond {@link #SATURATION} it grows with the logarithm of
     * its size, so that tiny or huge penalties neither overflow to infinity nor tie distinct tokens.
     */
    static float saturate(double x) {
        double m = Math.abs(x);
        if (m <= SATURATION) {
            return (float) x;
        }
        return (float) Math.copySign(SATURATION * (1 + 1e-3 * Math.log(m / SATURATION)), x);
    }

    /** Clears the ids' bits, or the whole set when the history is longer than it. */
    private void clear(int[] history, int historyLength) {
        if (historyLength > seen.length) {
            java.util.Arrays.fill(seen, 0L);
            return;
        }
        for (int i = 0; i < historyLength; i++) {
            int id = history[i];
            if (id >= 0 && (id >>> 6) < seen.length) {
                seen[id >>> 6] &= ~(1L << id);
            }
        }
    }
}

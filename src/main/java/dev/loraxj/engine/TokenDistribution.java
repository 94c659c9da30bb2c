package dev.loraxj.engine;

import java.util.Arrays;

/**
 * The distribution one step draws from: the processed scores of the whole vocabulary and which
 * tokens the warpers still allow. A masked token counts as -inf, as Hugging Face's warpers fill
 * it, but is never written: we keep the allowed ids instead ("all", or a list). Tokens whose
 * score is -inf or NaN are never allowed. One per sequence; not thread-safe.
 */
final class TokenDistribution {

    /** top_p and typical_p bucket tokens by distance in nats, so only one bucket needs sorting. */
    private static final int BUCKETS = 1024;
    private static final float BUCKETS_PER_NAT = 16f;

    private final int vocab;
    private final float[] scores;
    private final TokenRanking ranking = new TokenRanking();
    private final double[] bucketMass = new double[BUCKETS];
    private final int[] bucketCount = new int[BUCKETS];
    private int[] kept = new int[64];
    private int keptCount;
    private boolean all;
    private boolean sortedByScore;
    private boolean vectorSums;

    private boolean normalized;
    private float max;
    private double sum;
    private int allowedCount;

    TokenDistribution(int vocab) {
        this.vocab = vocab;
        this.scores = new float[vocab];
    }

    /** The scores to fill and process in place; call {@link #allowAll(boolean)} after changing them. */
    float[] scores() {
        return scores;
    }

    /**
     * Allows every token again. {@code forDraw}: sums use Math.exp, whose results HotSpot keeps
     * identical across interpreter and compiled code, so a seeded draw never depends on the JIT.
     */
    void allowAll(boolean forDraw) {
        all = true;
        sortedByScore = false;
        keptCount = 0;
        normalized = false;
        vectorSums = !forDraw;
    }

    /**
     * Temperature, as {@code (score - max) / t}: the same distribution as {@code score / t}, but a
     * tiny t sends the others to -inf instead of overflowing the best to +inf (which made NaNs).
     */
    void divide(float temperature) {
        float top = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            top = Math.max(top, scores[i]);
        }
        if (top == Float.NEGATIVE_INFINITY || Float.isNaN(top)) {
            return;
        }
        for (int i = 0; i < vocab; i++) {
            scores[i] = (scores[i] - top) / temperature;
        }
        normalized = false;
    }

    /** Lowest id among the highest scores (torch.argmax), over the whole vocabulary. */
    int argmax() {
        int best = 0;
        float bestScore = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            if (scores[i] > bestScore) {
                bestScore = scores[i];
                best = i;
            }
        }
        return best;
    }

    /** HF TopKLogitsWarper: keeps every token scoring at least the k-th best (ties at the edge stay). */
    void keepTopK(int k) {
        if (!all) {
            throw new IllegalStateException("top_k runs first, on the whole vocabulary");
        }
        if (k >= vocab) {
            return;
        }
        ranking.start(k);
        for (int i = 0; i < vocab; i++) {
            if (scores[i] > Float.NEGATIVE_INFINITY) {
                ranking.offer(scores[i], i);
            }
        }
        int n = ranking.finish();
        keptCount = 0;
        appendRanked(0, n);
        all = false;
        if (n == k) {
            float threshold = scores[kept[n - 1]];
            for (int i = kept[n - 1] + 1; i < vocab; i++) {
                if (scores[i] == threshold) {
                    append(i);
                }
            }
        }
        sortedByScore = true;
        normalized = false;
    }

    /**
     * HF TopPLogitsWarper: keeps the best tokens until the mass above the next one reaches p (the
     * best always stays). Buckets by score find the bucket where the mass crosses p; only it is sorted.
     */
    void keepTopP(float p) {
        normalize();
        if (allowedCount == 0) {
            return;
        }
        double cut = 1.0 - p;
        if (sortedByScore) {
            double before = 0;
            for (int j = 0; j < keptCount; j++) {
                if (j > 0 && 1.0 - before <= cut) {
                    keptCount = j;
                    break;
                }
                before += Math.exp(scores[kept[j]] - max) / sum;
            }
        } else {
            fillBuckets(0, false);
            double before = 0;
            int edge = BUCKETS - 1;
            for (int b = 0; b < BUCKETS; b++) {
                if (before + bucketMass[b] / sum >= p) {
                    edge = b;
                    break;
                }
                before += bucketMass[b] / sum;
            }
            int above = splitAtBucket(edge, 0, false);
            int n = ranking.finish();
            int end = n;
            for (int j = 0; j < n; j++) {
                if (above + j > 0 && 1.0 - before <= cut) {
                    end = j;
                    break;
                }
                before += Math.exp(scores[ranking.id(j)] - max) / sum;
            }
            appendRanked(0, end);
        }
        normalized = false;
    }

    /** HF TypicalLogitsWarper: keeps the tokens whose surprise is closest to the entropy, up to mass {@code mass}. */
    void keepTypical(float mass) {
        normalize();
        if (allowedCount == 0) {
            return;
        }
        double logZ = max + Math.log(sum);
        double entropy = 0;
        for (int j = 0, n = all ? vocab : keptCount; j < n; j++) {
            float s = scores[all ? j : kept[j]];
            if (s > Float.NEGATIVE_INFINITY) {
                double logp = s - logZ;
                entropy -= Math.exp(logp) * logp;
            }
        }
        double shift = logZ - entropy;
        fillBuckets(shift, true);
        double cumulative = 0;
        int edge = -1;
        for (int b = 0; b < BUCKETS; b++) {
            if (cumulative + bucketMass[b] / sum >= mass) {
                edge = b;
                break;
            }
            cumulative += bucketMass[b] / sum;
        }
        if (edge < 0) {
            return;
        }
        splitAtBucket(edge, shift, true);
        int n = ranking.finish();
        int end = n;
        for (int j = 0; j < n; j++) {
            cumulative += Math.exp(scores[ranking.id(j)] - max) / sum;
            if (cumulative >= mass) {
                end = j + 1;
                while (end < n && ranking.key(end) >= ranking.key(j)) {
                    end++;
                }
                break;
            }
        }
        appendRanked(0, end);
        sortedByScore = false;
        normalized = false;
    }

    /** Draws an allowed token with probability proportional to exp(score). */
    int sample(Xoshiro256 rng) {
        normalize();
        double target = rng.nextDouble() * sum;
        double cumulative = 0;
        int lastPositive = -1;
        for (int j = 0, n = all ? vocab : keptCount; j < n; j++) {
            int id = all ? j : kept[j];
            float s = scores[id];
            if (s > Float.NEGATIVE_INFINITY) {
                double e = Math.exp(s - max);
                if (e > 0) {
                    cumulative += e;
                    lastPositive = id;
                    if (cumulative > target) {
                        return id;
                    }
                }
            }
        }
        // rounding left the target just past the total, or nothing is allowed at all
        return lastPositive >= 0 ? lastPositive : argmax();
    }

    /** log_softmax of the processed scores at an allowed id; NaN when no token is allowed. */
    float logprob(int id) {
        normalize();
        if (allowedCount == 0) {
            return Float.NaN;
        }
        return (float) (scores[id] - max - Math.log(sum));
    }

    /** The k most likely allowed tokens, best first (ties: lower id); returns how many were filled. */
    int top(int k, int[] ids, float[] logprobs) {
        normalize();
        int m = Math.min(k, allowedCount);
        if (m <= 0) {
            return 0;
        }
        ranking.start(m);
        for (int j = 0, n = all ? vocab : keptCount; j < n; j++) {
            int id = all ? j : kept[j];
            if (scores[id] > Float.NEGATIVE_INFINITY) {
                ranking.offer(scores[id], id);
            }
        }
        int n = ranking.finish();
        double logSum = Math.log(sum);
        for (int j = 0; j < n; j++) {
            ids[j] = ranking.id(j);
            logprobs[j] = (float) (scores[ids[j]] - max - logSum);
        }
        return n;
    }

    /** Caches the max and sum of exp(score - max) over the allowed tokens. */
    private void normalize() {
        if (normalized) {
            return;
        }
        if (all && vectorSums) {
            max = LogSumExp.max(scores, 0, vocab);
            sum = max == Float.NEGATIVE_INFINITY ? 0 : LogSumExp.sumExp(scores, 0, vocab, max);
            allowedCount = max == Float.NEGATIVE_INFINITY ? 0 : vocab;
            normalized = true;
            return;
        }
        float m = Float.NEGATIVE_INFINITY;
        int count = 0;
        for (int j = 0, n = all ? vocab : keptCount; j < n; j++) {
            float s = scores[all ? j : kept[j]];
            if (s > Float.NEGATIVE_INFINITY) {
                count++;
                if (s > m) {
                    m = s;
                }
            }
        }
        double total = 0;
        for (int j = 0, n = all ? vocab : keptCount; j < n; j++) {
            float s = scores[all ? j : kept[j]];
            if (s > Float.NEGATIVE_INFINITY) {
                total += Math.exp(s - m);
            }
        }
        max = m;
        sum = total;
        allowedCount = count;
        normalized = true;
    }

    /** Distance in nats: below the max score, or (typical) from the entropy shift. */
    private float distance(float s, double shift, boolean typical) {
        return typical ? (float) Math.abs(shift - s) : max - s;
    }

    private static int bucketOf(float distance) {
        float b = distance * BUCKETS_PER_NAT;
        return b < BUCKETS - 1 ? (int) b : BUCKETS - 1;
    }

    /** Sums the unnormalized mass and counts the allowed tokens per distance bucket. */
    private void fillBuckets(double shift, boolean typical) {
        Arrays.fill(bucketMass, 0);
        Arrays.fill(bucketCount, 0);
        for (int j = 0, n = all ? vocab : keptCount; j < n; j++) {
            float s = scores[all ? j : kept[j]];
            if (s > Float.NEGATIVE_INFINITY) {
                int b = bucketOf(distance(s, shift, typical));
                bucketMass[b] += Math.exp(s - max);
                bucketCount[b]++;
            }
        }
    }

    /**
     * Keeps the allowed tokens of buckets below {@code edge} as the new list (compacted in place)
     * and offers those of bucket {@code edge} to the ranking, best first by score or (typical) by
     * nearness; returns how many were kept.
     */
    private int splitAtBucket(int edge, double shift, boolean typical) {
        ranking.start(Math.max(1, bucketCount[edge]));
        int n = all ? vocab : keptCount;
        int below = 0;
        for (int b = 0; b < edge; b++) {
            below += bucketCount[b];
        }
        ensureKept(below + bucketCount[edge]);
        int out = 0;
        for (int j = 0; j < n; j++) {
            int id = all ? j : kept[j];
            float s = scores[id];
            if (s > Float.NEGATIVE_INFINITY) {
                float d = distance(s, shift, typical);
                int b = bucketOf(d);
                if (b < edge) {
                    // writes never overtake reads, so compacting the list in place is safe
                    kept[out++] = id;
                } else if (b == edge) {
                    ranking.offer(typical ? -d : s, id);
                }
            }
        }
        keptCount = out;
        all = false;
        sortedByScore = false;
        return out;
    }

    private void appendRanked(int from, int to) {
        ensureKept(keptCount + (to - from));
        for (int j = from; j < to; j++) {
            kept[keptCount++] = ranking.id(j);
        }
        all = false;
    }

    private void append(int id) {
        ensureKept(keptCount + 1);
        kept[keptCount++] = id;
    }

    private void ensureKept(int n) {
        if (kept.length < n) {
            kept = Arrays.copyOf(kept, Math.max(n, 2 * kept.length));
        }
    }
}

package dev.loraxj.engine;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {

    /**
     * Logprobs: the sampler keeps scores in float (as torch does in F32) and the reference in
     * double; with logits up to ~20 that is a few float ulps, far below 1e-5.
     */
    private static final double LOGPROB_TOLERANCE = 1e-5;
    /**
     * top_p / typical_p decisions this close to their threshold could go either way: float scores
     * (|s| < ~20, relative error 2^-24) move a cumulative mass by well under 1e-6. Such cases are skipped.
     */
    private static final double AMBIGUOUS = 2e-6;

    private static final int[] NO_HISTORY = new int[0];

    @Test
    void greedyPicksTheLowestIdAmongEqualMaxima() {
        Sampler sampler = new Sampler(SamplingParams.greedy(), 4);
        assertEquals(1, sampler.next(new float[]{1f, 5f, 5f, 2f}, 0, NO_HISTORY, 0, 0));
        assertEquals(2, sampler.next(new float[]{9f, 9f, 1f, 5f, 7f, 0f}, 2, NO_HISTORY, 0, 0), "reads logits from the offset");
    }

    @Test
    void greedyLogprobIsTheLogSoftmaxOfTheLogits() {
        float[] logits = {2f, -1f, 0.5f, 3f, 3f};
        Sampler sampler = new Sampler(SamplingParams.greedy(), logits.length);
        int id = sampler.next(logits, 0, NO_HISTORY, 0, 0);
        double[] expected = ReferenceSampling.logSoftmax(toDouble(logits));
        assertEquals(3, id);
        assertEquals(expected[3], sampler.lastLogprob(), LOGPROB_TOLERANCE);
        assertEquals(expected[3], Sampler.logSoftmaxAt(logits, 0, logits.length, 3), LOGPROB_TOLERANCE);
        assertEquals(expected[1], Sampler.logSoftmaxAt(logits, 0, logits.length, 1), LOGPROB_TOLERANCE);

        int[] ids = new int[3];
        float[] lps = new float[3];
        assertEquals(3, sampler.lastAlternatives(3, ids, lps));
        assertArrayEquals(new int[]{3, 4, 0}, ids);
        assertEquals(expected[4], lps[1], LOGPROB_TOLERANCE);
        assertEquals(expected[0], lps[2], LOGPROB_TOLERANCE);
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOncePerDistinctId() {
        float[] logits = {2f, -1f, 1.5f, 0.5f};
        int[] history = {0, 1, 1, 0, 0};
        SamplingParams p = params(false, 1f, 0, 1f, 1f, 2f, 0f, 0f, Map.of());
        Sampler sampler = new Sampler(p, 4);
        assertEquals(2, sampler.next(logits, 0, history, history.length, 2), "2.0 / 2 = 1.0 now loses to 1.5");
        double[] processed = new ReferenceSampling().process(logits, p, history, history.length, 2);
        assertArrayEquals(new double[]{1.0, -2.0, 1.5, 0.5}, processed, 0.0);
        assertProcessedDistribution(sampler, processed);
    }

    @Test
    void frequencyAndPresencePenaltiesCountGeneratedTokensOnly() {
        float[] logits = {3f, 2f, 1f, 2.9f};
        int[] history = {3, 3, 0, 0, 1};   // prompt [3, 3], generated [0, 0, 1]
        SamplingParams p = params(false, 1f, 0, 1f, 1f, 1f, 0.5f, 0.25f, Map.of());
        Sampler sampler = new Sampler(p, 4);
        assertEquals(3, sampler.next(logits, 0, history, history.length, 2), "3 - 2*0.5 - 0.25 = 1.75 < 2.9");
        double[] processed = new ReferenceSampling().process(logits, p, history, history.length, 2);
        assertArrayEquals(new double[]{1.75, 1.25, 1.0, 2.9}, processed, 1e-6);
        assertProcessedDistribution(sampler, processed);
    }

    @Test
    void logitBiasIsAddedToTheRawLogits() {
        float[] logits = {3f, 2f, 1f};
        Sampler forced = new Sampler(params(false, 1f, 0, 1f, 1f, 1f, 0f, 0f, Map.of(2, 5f)), 3);
        assertEquals(2, forced.next(logits, 0, NO_HISTORY, 0, 0));

        SamplingParams banned = params(true, 1f, 0, 1f, 1f, 1f, 0f, 0f, Map.of(0, Float.NEGATIVE_INFINITY));
        Sampler sampler = new Sampler(banned, 3);
        int[] ids = new int[3];
        float[] lps = new float[3];
        for (int step = 0; step < 200; step++) {
            assertNotEquals(0, sampler.next(logits, 0, NO_HISTORY, 0, 0));
            assertEquals(2, sampler.lastAlternatives(3, ids, lps), "a banned token is left out of the alternatives");
        }
        assertThrows(IllegalArgumentException.class,
                () -> new Sampler(params(false, 1f, 0, 1f, 1f, 1f, 0f, 0f, Map.of(3, 1f)), 3));
    }

    @Test
    void topKKeepsEveryTokenTiedWithTheKth() {
        float[] logits = {3f, 2f, 2f, 1f, 2f, 0f};
        Sampler sampler = new Sampler(params(true, 1f, 2, 1f, 1f, 1f, 0f, 0f, Map.of()), logits.length);
        sampler.next(logits, 0, NO_HISTORY, 0, 0);
        int[] ids = new int[6];
        float[] lps = new float[6];
        assertEquals(4, sampler.lastAlternatives(6, ids, lps), "HF removes only scores < the k-th score");
        assertArrayEquals(new int[]{0, 1, 2, 4}, Arrays.copyOf(ids, 4));
    }

    @Test
    void eachWarperMatchesTheReferenceOnRandomLogits() {
        SplittableRandom random = new SplittableRandom(3);
        int checked = 0;
        int trials = 600;
        for (int trial = 0; trial < trials; trial++) {
            int vocab = random.nextInt(2, 80);
            float[] logits = new float[vocab];
            for (int i = 0; i < vocab; i++) {
                logits[i] = (float) (random.nextGaussian() * 3);
            }
            int[] history = new int[random.nextInt(0, 12)];
            for (int i = 0; i < history.length; i++) {
                history[i] = random.nextInt(vocab);
            }
            int promptLength = history.length == 0 ? 0 : random.nextInt(history.length);
            SamplingParams p = params(true,
                    random.nextBoolean() ? 1f : (float) random.nextDouble(0.3, 2.0),
                    random.nextInt(3) == 0 ? 0 : random.nextInt(1, vocab + 3),
                    random.nextBoolean() ? 1f : (float) random.nextDouble(0.05, 1.0),
                    random.nextBoolean() ? 1f : (float) random.nextDouble(0.05, 1.0),
                    random.nextBoolean() ? 1f : (float) random.nextDouble(0.5, 2.0),
                    random.nextBoolean() ? 0f : (float) random.nextDouble(-1, 1),
                    random.nextBoolean() ? 0f : (float) random.nextDouble(-1, 1),
                    Map.of());
            ReferenceSampling reference = new ReferenceSampling();
            double[] processed = reference.process(logits, p, history, history.length, promptLength);
            if (reference.margin < AMBIGUOUS) {
                continue;
            }
            Sampler sampler = new Sampler(p.withSeed(trial), vocab);
            int id = sampler.next(logits, 0, history, history.length, promptLength);
            assertTrue(processed[id] > Double.NEGATIVE_INFINITY, "drew a masked token: " + p);
            assertEquals(ReferenceSampling.logSoftmax(processed)[id], sampler.lastLogprob(), LOGPROB_TOLERANCE, p.toString());
            assertProcessedDistribution(sampler, processed);
            checked++;
        }
        assertTrue(checked > trials * 9 / 10, "only " + checked + " of " + trials + " cases were unambiguous");
    }

    @Test
    void topPAndTypicalMatchTheReferenceOnALargeVocabulary() {
        // without top_k these bucket the vocabulary by mass and sort only the edge bucket; the result must still match
        SplittableRandom random = new SplittableRandom(5);
        int vocab = 5000;
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) (random.nextGaussian() * (i % 7 == 0 ? 4 : 1));
        }
        for (SamplingParams p : new SamplingParams[]{
                params(true, 1f, 0, 0.9f, 1f, 1f, 0f, 0f, Map.of()),
                params(true, 3f, 0, 0.99f, 1f, 1f, 0f, 0f, Map.of()),
                params(true, 1f, 0, 1f, 0.8f, 1f, 0f, 0f, Map.of()),
                params(true, 0.7f, 0, 0.95f, 0.9f, 1f, 0f, 0f, Map.of()),
                params(true, 1f, 300, 0.9f, 0.9f, 1f, 0f, 0f, Map.of())}) {
            ReferenceSampling reference = new ReferenceSampling();
            double[] processed = reference.process(logits, p, NO_HISTORY, 0, 0);
            assertTrue(reference.margin >= AMBIGUOUS, "test logits are ambiguous for " + p);
            Sampler sampler = new Sampler(p, vocab);
            int id = sampler.next(logits, 0, NO_HISTORY, 0, 0);
            assertTrue(processed[id] > Double.NEGATIVE_INFINITY);
            assertProcessedDistribution(sampler, processed);
        }
    }

    @Test
    void drawsFollowTheProcessedDistribution() {
        float[] logits = {2f, 1f, 0.5f, 0f, -1f, -3f};
        SamplingParams p = params(true, 0.8f, 5, 0.9f, 1f, 1f, 0f, 0f, Map.of());
        double[] processed = new ReferenceSampling().process(logits, p, NO_HISTORY, 0, 0);
        double[] probs = ReferenceSampling.logSoftmax(processed);
        Sampler sampler = new Sampler(p.withSeed(1234), logits.length);
        int n = 200_000;
        int[] counts = new int[logits.length];
        for (int i = 0; i < n; i++) {
            counts[sampler.next(logits, 0, NO_HISTORY, 0, 0)]++;
        }
        for (int id = 0; id < logits.length; id++) {
            double expected = Math.exp(probs[id]);
            double sigma = Math.sqrt(expected * (1 - expected) / n);
            // 5 sigma per token: a correct sampler fails this with probability below 1e-5
            assertEquals(expected, counts[id] / (double) n, 5 * sigma + 1e-12, "token " + id + " of " + Arrays.toString(counts));
        }
        assertEquals(0, counts[4] + counts[5], "top_k and top_p mask the tail");
    }

    @Test
    void aSeedGivesTheSameDrawsInEveryRun() {
        // with only temperature the walk goes by id: the draw is the first id whose cumulative
        // probability exceeds u, where u comes from xoshiro256** (seed 42), computed independently
        float[] logits = {1f, 0f, 2f, -1f, 0.5f};
        SamplingParams p = params(true, 1.5f, 0, 1f, 1f, 1f, 0f, 0f, Map.of()).withSeed(42);
        double[] probs = ReferenceSampling.logSoftmax(new ReferenceSampling().process(logits, p, NO_HISTORY, 0, 0));
        Sampler sampler = new Sampler(p, logits.length);
        for (double u : new double[]{0.08386297105988216, 0.3789802506626686}) {
            assertEquals(inverseCdf(probs, u), sampler.next(logits, 0, NO_HISTORY, 0, 0));
        }
        Sampler a = new Sampler(p.withSeed(7), logits.length);
        Sampler b = new Sampler(p.withSeed(7), logits.length);
        Sampler c = new Sampler(p.withSeed(8), logits.length);
        int[] da = new int[100];
        int[] db = new int[100];
        int[] dc = new int[100];
        for (int i = 0; i < 100; i++) {
            da[i] = a.next(logits, 0, NO_HISTORY, 0, 0);
            db[i] = b.next(logits, 0, NO_HISTORY, 0, 0);
            dc[i] = c.next(logits, 0, NO_HISTORY, 0, 0);
        }
        assertArrayEquals(da, db);
        assertTrue(!Arrays.equals(da, dc), "another seed draws another sequence");
    }

    @Test
    void prngIsXoshiro256StarStarSeededBySplitMix64() {
        // reference values from an independent transcription of the published C code
        Xoshiro256 rng = new Xoshiro256(42);
        assertEquals(1546998764402558742L, rng.nextLong());
        assertEquals(6990951692964543102L, rng.nextLong());
        assertEquals(-5902157311460992607L, rng.nextLong());
        Xoshiro256 zero = new Xoshiro256(0);
        assertEquals(-7355399402456485196L, zero.nextLong());
        assertEquals(0.7477740925472398, zero.nextDouble(), 0.0);
    }

    @Test
    void warpersImplySamplingAsInLoraxAndTemperatureZeroMeansGreedy() {
        assertTrue(params(false, 1f, 5, 1f, 1f, 1f, 0f, 0f, Map.of()).sampling());
        assertTrue(params(false, 0.7f, 0, 1f, 1f, 1f, 0f, 0f, Map.of()).sampling());
        assertTrue(params(true, 1f, 0, 1f, 1f, 1f, 0f, 0f, Map.of()).sampling());
        assertTrue(!SamplingParams.greedy().sampling());
        assertTrue(!params(true, 0f, 5, 0.5f, 1f, 1f, 0f, 0f, Map.of()).sampling());
        Sampler sampler = new Sampler(params(true, 0f, 0, 1f, 1f, 1f, 0f, 0f, Map.of()), 3);
        for (int i = 0; i < 50; i++) {
            assertEquals(1, sampler.next(new float[]{0.5f, 0.6f, 0.55f}, 0, NO_HISTORY, 0, 0));
        }
    }

    @Test
    void invalidParametersAreRejectedWithTheFieldName() {
        assertMessage("top_p", () -> params(true, 1f, 0, 0f, 1f, 1f, 0f, 0f, Map.of()));
        assertMessage("typical_p", () -> params(true, 1f, 0, 1f, 1.5f, 1f, 0f, 0f, Map.of()));
        assertMessage("top_k", () -> params(true, 1f, -1, 1f, 1f, 1f, 0f, 0f, Map.of()));
        assertMessage("temperature", () -> params(true, -1f, 0, 1f, 1f, 1f, 0f, 0f, Map.of()));
        assertMessage("repetition_penalty", () -> params(true, 1f, 0, 1f, 1f, 0f, 0f, 0f, Map.of()));
        assertMessage("logit_bias", () -> params(true, 1f, 0, 1f, 1f, 1f, 0f, 0f, Map.of(-1, 1f)));
        assertThrows(IllegalStateException.class, () -> new Sampler(SamplingParams.greedy(), 3).lastLogprob());
    }

    @Test
    void aStepAllocatesNothingOnA150kVocabulary() {
        int vocab = 150_000;
        SplittableRandom random = new SplittableRandom(9);
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) (random.nextGaussian() * 2);
        }
        int[] history = new int[64];
        for (int i = 0; i < history.length; i++) {
            history[i] = random.nextInt(vocab);
        }
        int[] ids = new int[5];
        float[] lps = new float[5];
        for (SamplingParams p : new SamplingParams[]{
                SamplingParams.greedy(),
                params(true, 0.8f, 50, 0.9f, 0.95f, 1.1f, 0.2f, 0.1f, Map.of(5, 2f)),
                params(true, 1.2f, 0, 0.95f, 1f, 1f, 0f, 0f, Map.of()),
                params(true, 1f, 0, 1f, 0.9f, 1.3f, 0f, 0f, Map.of())}) {
            Sampler sampler = new Sampler(p, vocab);
            Runnable step = () -> {
                sampler.next(logits, 0, history, history.length, 32);
                sampler.lastLogprob();
                sampler.lastAlternatives(5, ids, lps);
            };
            com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            // until C2 compiles the Vector API loops they box vectors; wait for a steady state (bounded)
            int quiet = 0;
            for (int i = 0; i < 3000 && quiet < 10; i++) {
                long t = mx.getCurrentThreadAllocatedBytes();
                step.run();
                quiet = mx.getCurrentThreadAllocatedBytes() - t < 64 ? quiet + 1 : 0;
            }
            long calibrate = mx.getCurrentThreadAllocatedBytes();
            long before = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 30; i++) {
                step.run();
            }
            long allocated = mx.getCurrentThreadAllocatedBytes() - before - (before - calibrate);
            // one vocabulary-sized buffer is 600 KB; 30 steps may not allocate even 1 KB in all
            assertTrue(allocated < 1024, allocated + " bytes allocated over 30 steps with " + p);
        }
    }

    /** The sampler's whole processed distribution (via alternatives) equals the reference's, mask and logprobs. */
    private static void assertProcessedDistribution(Sampler sampler, double[] processed) {
        double[] expected = ReferenceSampling.logSoftmax(processed);
        int vocab = processed.length;
        int[] ids = new int[vocab];
        float[] lps = new float[vocab];
        int n = sampler.lastAlternatives(vocab, ids, lps);
        Set<Integer> allowed = new HashSet<>();
        for (int i = 0; i < vocab; i++) {
            if (processed[i] > Double.NEGATIVE_INFINITY) {
                allowed.add(i);
            }
        }
        Set<Integer> got = new HashSet<>();
        for (int j = 0; j < n; j++) {
            got.add(ids[j]);
            assertEquals(expected[ids[j]], lps[j], LOGPROB_TOLERANCE, "token " + ids[j]);
            if (j > 0) {
                assertTrue(lps[j] <= lps[j - 1], "alternatives are sorted best first");
            }
        }
        assertEquals(allowed, got, "tokens left by the warpers");
    }

    private static int inverseCdf(double[] logprobs, double u) {
        double cumulative = 0;
        for (int i = 0; i < logprobs.length; i++) {
            cumulative += Math.exp(logprobs[i]);
            if (cumulative > u) {
                return i;
            }
        }
        return logprobs.length - 1;
    }

    private static void assertMessage(String field, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(field), e.getMessage());
    }

    private static SamplingParams params(boolean doSample, float temperature, int topK, float topP, float typicalP,
            float repetition, float frequency, float presence, Map<Integer, Float> bias) {
        return new SamplingParams(doSample, temperature, topK, topP, typicalP, repetition, frequency, presence, 0L, bias);
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** Logits like a real step's: 512 values in about [-12, 12], from a fixed seed. */
    private static float[] realisticLogits(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] l = new float[512];
        for (int i = 0; i < l.length; i++) {
            l[i] = (float) (r.nextGaussian() * 4);
        }
        return l;
    }

    @Test
    void aTinyTemperatureSamplesTheGreedyTokenWithoutNaNs() {
        for (float t : new float[]{Float.MIN_VALUE, 1e-45f, 1e-38f, 1e-30f, 1e-10f}) {
            for (long seed = 0; seed < 50; seed++) {
                float[] logits = realisticLogits(seed);
                int greedy = new Sampler(SamplingParams.greedy(), 512).next(logits, 0, NO_HISTORY, 0, 0);
                Sampler sampler = new Sampler(new SamplingParams(true, t, 0, 1f, 1f, 1f, 0f, 0f, seed, Map.of()), 512);
                assertEquals(greedy, sampler.next(logits, 0, NO_HISTORY, 0, 0), "temperature " + t + ", seed " + seed);
                // the limit of softmax(l / t) as t -> 0 puts all mass on the best token
                assertEquals(0.0, sampler.lastLogprob(), 0.0, "temperature " + t);
            }
        }
        // top_k, top_p and typical_p after a tiny temperature still see a sound distribution
        float[] logits = realisticLogits(7);
        int greedy = new Sampler(SamplingParams.greedy(), 512).next(logits, 0, NO_HISTORY, 0, 0);
        Sampler all = new Sampler(new SamplingParams(true, Float.MIN_VALUE, 5, 0.9f, 0.9f, 1f, 0f, 0f, 3, Map.of()), 512);
        assertEquals(greedy, all.next(logits, 0, NO_HISTORY, 0, 0));
    }

    /**
     * An extreme repetition penalty gives what exact arithmetic gives: the float64 reference applies
     * it without overflow and takes the argmax; the sampler must agree (and never produce NaN).
     */
    @Test
    void extremeRepetitionPenaltiesKeepTheOrderExactArithmeticGives() {
        for (float penalty : new float[]{Float.MIN_VALUE, 1e-40f, 1e-20f, 1e20f, 1e38f, Float.MAX_VALUE}) {
            for (long seed = 0; seed < 30; seed++) {
                float[] logits = realisticLogits(100 + seed);
                int[] history = new int[40];
                SplittableRandom r = new SplittableRandom(seed);
                for (int i = 0; i < history.length; i++) {
                    history[i] = r.nextInt(512);
                }
                double[] exact = toDouble(logits);
                boolean[] seen = new boolean[512];
                for (int id : history) {
                    if (!seen[id]) {
                        seen[id] = true;
                        exact[id] = exact[id] < 0 ? exact[id] * penalty : exact[id] / penalty;
                    }
                }
                int expected = 0;
                for (int i = 1; i < 512; i++) {
                    if (exact[i] > exact[expected]) {
                        expected = i;
                    }
                }
                SamplingParams greedy = new SamplingParams(false, 1f, 0, 1f, 1f, penalty, 0f, 0f, seed, Map.of());
                Sampler g = new Sampler(greedy, 512);
                assertEquals(expected, g.next(logits, 0, history, history.length, history.length), "penalty " + penalty + ", seed " + seed);
                assertTrue(Float.isFinite(g.lastLogprob()), "penalty " + penalty + ": logprob " + g.lastLogprob());
                Sampler sampled = new Sampler(new SamplingParams(true, 0.7f, 0, 1f, 1f, penalty, 0f, 0f, seed, Map.of()), 512);
                int id = sampled.next(logits, 0, history, history.length, history.length);
                assertTrue(id >= 0 && id < 512 && !Float.isNaN(sampled.lastLogprob()), "penalty " + penalty + ": " + id);
                if (penalty < 1e-30f) { // the penalized best dwarfs everything: sampling is as sure as greedy
                    assertEquals(expected, id, "sampled, penalty " + penalty + ", seed " + seed);
                }
            }
        }
    }
}

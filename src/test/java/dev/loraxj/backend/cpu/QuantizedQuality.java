package dev.loraxj.backend.cpu;

import dev.loraxj.SharedAssets;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.Sequences;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** What the int8 and int4 tests measure the same way: closeness to stories260K's float32 goldens, greedy text, batch invariance. */
final class QuantizedQuality {

    private static final int VOCAB = 512;

    /** Over the golden prompt's positions: mean and worst KL(F32 || quantized), and how many top-1 tokens agree. */
    record Figures(double meanKl, double worstKl, int agree, int positions) {
    }

    private QuantizedQuality() {
    }

    /** The quantized backend's prompt logits (with {@code lora}, or none) against the golden named {@code golden}. */
    static Figures prompt(CpuBackend backend, AdapterSlot lora, String golden) {
        float[] want = SharedAssets.floats(golden);
        Sequences seqs = new Sequences(backend, 8, 16);
        int n = SharedAssets.PROMPT.length;
        float[] got = seqs.prefill(seqs.add(n), SharedAssets.PROMPT, n, lora);
        double mean = 0;
        double worst = 0;
        int agree = 0;
        for (int t = 0; t < n; t++) {
            double klt = kl(want, got, t * VOCAB, VOCAB);
            mean += klt / n;
            worst = Math.max(worst, klt);
            if (Sequences.argmax(want, t * VOCAB, VOCAB) == Sequences.argmax(got, t * VOCAB, VOCAB)) {
                agree++;
            }
        }
        return new Figures(mean, worst, agree, n);
    }

    /** {@code tokens} greedy tokens after the golden prompt, decoded. */
    static String greedyStory(CpuBackend backend, AdapterSlot lora, int tokens) {
        Sequences seqs = new Sequences(backend, 8, 16);
        int seq = seqs.add(SharedAssets.PROMPT.length + tokens + 7);
        float[] logits = seqs.prefill(seq, SharedAssets.PROMPT, SharedAssets.PROMPT.length, lora);
        int[] ids = new int[tokens];
        int token = Sequences.argmax(logits, (SharedAssets.PROMPT.length - 1) * VOCAB, VOCAB);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = token;
            token = Sequences.argmax(seqs.step(new Sequences.Run(seq, new int[]{token}, false, lora))[0], 0, VOCAB);
        }
        try (dev.loraxj.model.Tokenizer tok = dev.loraxj.model.Tokenizer.load(SharedAssets.stories260K())) {
            return tok.decode(ids, 0, ids.length, true);
        }
    }

    /** Each of {@code T} tokens gets bitwise the same row alone as inside the batch of all of them. */
    static void assertBatchInvariant(Linear q, float[] x, int T) {
        int rows = q.rows();
        int cols = q.cols();
        float[] all = new float[T * rows];
        Matmul.apply(q, x, T, all);
        for (int t = 0; t < T; t++) {
            float[] one = new float[rows];
            Matmul.apply(q, Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, one);
            assertArrayEquals(Arrays.copyOfRange(all, t * rows, (t + 1) * rows), one, rows + "x" + cols + ", token " + t);
        }
    }

    /** {@code T} rows of {@code cols} inputs uniform in [-1, 1). */
    static float[] input(int T, int cols, long seed) {
        float[] x = new float[T * cols];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
        }
        return x;
    }

    static double kl(float[] p, float[] q, int off, int n) {
        double[] lp = logSoftmax(p, off, n);
        double[] lq = logSoftmax(q, off, n);
        double kl = 0;
        for (int i = 0; i < n; i++) {
            kl += Math.exp(lp[i]) * (lp[i] - lq[i]);
        }
        return kl;
    }

    private static double[] logSoftmax(float[] v, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, v[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(v[off + i] - max);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = v[off + i] - max - Math.log(sum);
        }
        return out;
    }
}

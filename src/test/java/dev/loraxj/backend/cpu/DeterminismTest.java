package dev.loraxj.backend.cpu;

import dev.loraxj.backend.Sequences;

import dev.loraxj.SharedAssets;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * A sequence's logits are bit-identical (assertArrayEquals on floats, no tolerance) alone and in any
 * batch, with any thread count, and with prefill whole, chunked or token by token. The server relies
 * on this for "a request in a batch returns exactly what it returns alone", seeded sampling included.
 */
class DeterminismTest {

    private static final int DECODE = 6;

    @TempDir
    static Path tmp;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"stories260K", "odd-bf16", "odd-window-f32"})
    void sequenceLogitsAreBitIdenticalAloneInBatchesAcrossThreadsAndChunking(String model) {
        Path dir = switch (model) {
            case "stories260K" -> SharedAssets.stories260K();
            case "odd-bf16" -> TestModels.random(tmp, "odd", TestModels.ODD, DType.BF16);
            default -> TestModels.random(tmp, "odd-window", TestModels.ODD.withModelType("mistral").withSlidingWindow(6), DType.F32);
        };
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            ModelConfig cfg = ModelConfig.load(dir);
            int vocab = cfg.vocabSize();
            int[] a = model.equals("stories260K") ? SharedAssets.PROMPT : randomTokens(13, vocab, 1);
            int[] b = randomTokens(7, vocab, 2);
            int[] c = randomTokens(22, vocab, 3);
            int[] d = randomTokens(9, vocab, 4);

            // Reference: alone, one thread, whole prefill, then greedy decode steps.
            float[][] ref = withBackend(ckpt, cfg, 1, seqs -> {
                int sa = seqs.add(64);
                float[] prefill = seqs.step(new Sequences.Run(sa, a, true))[0];
                return decodeAlone(seqs, sa, prefill, vocab);
            });
            int[] decodeTokens = greedyTokens(ref, vocab);

            for (int threads = 1; threads <= 3; threads++) {
                for (int chunk : new int[] {13, 5, 1}) {
                    float[][] alone = withBackend(ckpt, cfg, threads, seqs -> {
                        int sa = seqs.add(64);
                        float[] prefill = seqs.prefill(sa, a, chunk);
                        return decodeAlone(seqs, sa, prefill, vocab);
                    });
                    String what = "alone, threads=" + threads + ", chunk=" + chunk;
                    assertArrayEquals(ref[0], alone[0], what + ": prefill");
                    assertArrayEquals(ref[1], alone[1], what + ": decode");

                    float[][] batched = withBackend(ckpt, cfg, threads, seqs ->
                            batchedRun(seqs, a, b, c, d, chunk, decodeTokens, vocab));
                    what = "batched, threads=" + threads + ", chunk=" + chunk;
                    assertArrayEquals(ref[0], batched[0], what + ": prefill");
                    assertArrayEquals(ref[1], batched[1], what + ": decode");
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"stories260K", "odd-f32"})
    void logitsAreBitIdenticalForEveryKvBlockSize(String model) {
        Path dir = model.equals("stories260K") ? SharedAssets.stories260K() : TestModels.random(tmp, "odd", TestModels.ODD, DType.F32);
        try (Checkpoint ckpt = Checkpoint.open(dir); Parallel pool = new Parallel(2); CpuBackend backend = CpuBackend.load(ckpt, ModelConfig.load(dir), pool)) {
            int vocab = backend.config().vocabSize();
            int[] prompt = model.equals("stories260K") ? SharedAssets.PROMPT : randomTokens(21, vocab, 9);
            float[] reference = null;
            for (int blockSize : new int[] {16, 1, 3, 64}) {
                Sequences seqs = new Sequences(backend, 64, blockSize);
                int s = seqs.add(40);
                float[] prefill = seqs.prefill(s, prompt, 7);
                float[] decode = seqs.step(new Sequences.Run(s, new int[] {Sequences.argmax(prefill, prefill.length - vocab, vocab)}, false))[0];
                float[] all = Arrays.copyOf(prefill, prefill.length + vocab);
                System.arraycopy(decode, 0, all, prefill.length, vocab);
                if (reference == null) {
                    reference = all;
                } else {
                    assertArrayEquals(reference, all, "block size " + blockSize);
                }
            }
        }
    }

    /** A's prefill in chunks beside other sequences' prefills, then A decodes beside decodes and a new prefill. */
    private static float[][] batchedRun(Sequences seqs, int[] a, int[] b, int[] c, int[] d, int chunk, int[] decodeTokens, int vocab) {
        int sb = seqs.add(64), sa = seqs.add(64), sc = seqs.add(64), sd = seqs.add(64);
        float[] prefill = new float[a.length * vocab];
        int bDone = 0;
        for (int from = 0; from < a.length; from += chunk) {
            int[] part = Arrays.copyOfRange(a, from, Math.min(a.length, from + chunk));
            float[][] out;
            if (from == 0) {
                out = seqs.step(new Sequences.Run(sb, b, false), new Sequences.Run(sa, part, true), new Sequences.Run(sc, c, true));
                bDone = 1;
            } else {
                out = seqs.step(new Sequences.Run(sc, new int[] {5}, false), new Sequences.Run(sa, part, true),
                        new Sequences.Run(sb, new int[] {bDone++ % vocab}, false));
            }
            System.arraycopy(out[1], 0, prefill, from * vocab, out[1].length);
        }
        float[] decode = new float[DECODE * vocab];
        for (int i = 0; i < DECODE; i++) {
            Sequences.Run ra = new Sequences.Run(sa, new int[] {decodeTokens[i]}, false);
            float[][] out;
            if (i == 2) {
                out = seqs.step(new Sequences.Run(sd, d, true), new Sequences.Run(sc, new int[] {7}, false), ra);
                System.arraycopy(out[2], 0, decode, i * vocab, vocab);
            } else {
                out = seqs.step(ra, new Sequences.Run(sb, new int[] {3}, false), new Sequences.Run(sc, new int[] {4}, false));
                System.arraycopy(out[0], 0, decode, i * vocab, vocab);
            }
        }
        return new float[][] {prefill, decode};
    }

    private static float[][] decodeAlone(Sequences seqs, int sa, float[] prefill, int vocab) {
        float[] decode = new float[DECODE * vocab];
        int token = Sequences.argmax(prefill, prefill.length - vocab, vocab);
        for (int i = 0; i < DECODE; i++) {
            float[] logits = seqs.step(new Sequences.Run(sa, new int[] {token}, false))[0];
            System.arraycopy(logits, 0, decode, i * vocab, vocab);
            token = Sequences.argmax(logits, 0, vocab);
        }
        return new float[][] {prefill, decode};
    }

    private static int[] greedyTokens(float[][] ref, int vocab) {
        int[] tokens = new int[DECODE];
        tokens[0] = Sequences.argmax(ref[0], ref[0].length - vocab, vocab);
        for (int i = 1; i < DECODE; i++) {
            tokens[i] = Sequences.argmax(ref[1], (i - 1) * vocab, vocab);
        }
        return tokens;
    }

    private static float[][] withBackend(Checkpoint ckpt, ModelConfig cfg, int threads, Function<Sequences, float[][]> body) {
        try (Parallel pool = new Parallel(threads); CpuBackend backend = CpuBackend.load(ckpt, cfg, pool)) {
            return body.apply(new Sequences(backend, 64, 4));
        }
    }

    static int[] randomTokens(int n, int vocab, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(vocab);
        }
        return t;
    }
}

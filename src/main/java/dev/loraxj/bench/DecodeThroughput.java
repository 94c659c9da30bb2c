package dev.loraxj.bench;

import dev.loraxj.backend.StepBatch;
import dev.loraxj.backend.cpu.CpuBackend;

import java.util.SplittableRandom;

/**
 * Greedy decode of {@code batch} sequences in lockstep on a backend: one prefill step of a short
 * prompt each, untimed warm-up steps, then timed steps of one token per sequence.
 */
public final class DecodeThroughput {

    /** Timed figures: {@code steps} steps of {@code batch} tokens in {@code nanos}. */
    public record Result(int batch, int steps, long nanos) {
        public double tokensPerSecond() {
            return (double) batch * steps / (nanos / 1e9);
        }

        public double millisPerStep() {
            return nanos / 1e6 / steps;
        }
    }

    private DecodeThroughput() {
    }

    public static Result run(CpuBackend backend, int batch, int prompt, int warmup, int steps, int blockSize) {
        int vocab = backend.config().vocabSize();
        int maxLen = prompt + warmup + steps;
        int blocksPerSeq = (maxLen + blockSize - 1) / blockSize;
        backend.allocateKvCache(batch * blocksPerSeq, blockSize);
        int[][] tables = new int[batch][blocksPerSeq];
        for (int s = 0; s < batch; s++) {
            for (int i = 0; i < blocksPerSeq; i++) {
                tables[s][i] = s * blocksPerSeq + i;
            }
        }
        SplittableRandom rnd = new SplittableRandom(batch);
        StepBatch step = new StepBatch(vocab);
        int[] next = new int[batch];
        int[] one = new int[1];
        for (int s = 0; s < batch; s++) {
            int[] tokens = new int[prompt];
            for (int i = 0; i < prompt; i++) {
                tokens[i] = rnd.nextInt(vocab);
            }
            step.addSequence(tokens, 0, prompt, 0, tables[s], prompt - 1);
        }
        backend.forward(step);
        pick(step, next);
        long start = 0;
        for (int i = 0; i < warmup + steps; i++) {
            if (i == warmup) {
                start = System.nanoTime();
            }
            step.clear();
            for (int s = 0; s < batch; s++) {
                one[0] = next[s];
                step.addSequence(one, 0, 1, prompt + i, tables[s], 0);
            }
            backend.forward(step);
            pick(step, next);
        }
        return new Result(batch, steps, System.nanoTime() - start);
    }

    private static void pick(StepBatch step, int[] next) {
        float[] logits = step.logits();
        int vocab = step.vocabSize();
        for (int r = 0; r < step.numLogitRows(); r++) {
            int best = 0;
            for (int i = 1; i < vocab; i++) {
                if (logits[r * vocab + i] > logits[r * vocab + best]) {
                    best = i;
                }
            }
            next[r] = best;
        }
    }
}

package dev.loraxj.bench;

import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.StepBatch;
import dev.loraxj.backend.cpu.CpuBackend;

import java.util.SplittableRandom;

/**
 * Greedy decode of {@code batch} sequences in lockstep: one prefill step of a short prompt each,
 * then timed decode steps of one token per sequence, in as many slices as the caller likes (so runs
 * can be interleaved with bandwidth measurements). Uses blocks {@code [firstBlock, firstBlock + blocksNeeded)}
 * of the backend's KV cache, so several runs can share one cache.
 */
public final class DecodeThroughput {

    /** Timed figures: {@code steps} steps of {@code batch} tokens in {@code nanos}. */
    public record Result(int batch, int steps, long nanos) {
        public double tokensPerSecond() {
            return (double) batch * steps / (nanos / 1e9);
        }
    }

    private final CpuBackend backend;
    private final int batch;
    private final int maxLen;
    private final int[][] tables;
    private final StepBatch step;
    private final int[] next;
    private final int[] one = new int[1];
    private final AdapterSlot[] adapters;
    private int position;
    private int steps;
    private long nanos;

    /** Blocks one run of {@code batch} sequences of up to {@code maxLen} tokens needs. */
    public static int blocksNeeded(int batch, int maxLen, int blockSize) {
        return batch * ((maxLen + blockSize - 1) / blockSize);
    }

    /** Prefills {@code prompt} random tokens per sequence (untimed). */
    public DecodeThroughput(CpuBackend backend, int batch, int prompt, int maxLen, int blockSize, int firstBlock) {
        this(backend, batch, prompt, maxLen, blockSize, firstBlock, new AdapterSlot[batch]);
    }

    /** As above, sequence {@code s} running with {@code adapters[s]} (null: the base model). */
    public DecodeThroughput(CpuBackend backend, int batch, int prompt, int maxLen, int blockSize, int firstBlock,
                            AdapterSlot[] adapters) {
        this.backend = backend;
        this.adapters = adapters.clone();
        this.batch = batch;
        this.maxLen = maxLen;
        int vocab = backend.config().vocabSize();
        int blocksPerSeq = (maxLen + blockSize - 1) / blockSize;
        tables = new int[batch][blocksPerSeq];
        for (int s = 0; s < batch; s++) {
            for (int i = 0; i < blocksPerSeq; i++) {
                tables[s][i] = firstBlock + s * blocksPerSeq + i;
            }
        }
        SplittableRandom rnd = new SplittableRandom(batch);
        step = new StepBatch(vocab);
        next = new int[batch];
        for (int s = 0; s < batch; s++) {
            int[] tokens = new int[prompt];
            for (int i = 0; i < prompt; i++) {
                tokens[i] = rnd.nextInt(vocab);
            }
            step.addSequence(tokens, 0, prompt, 0, tables[s], prompt - 1, adapters[s]);
        }
        backend.forward(step);
        pick();
        position = prompt;
    }

    /** Runs {@code n} more decode steps, timed. */
    public void steps(int n) {
        if (position + n > maxLen) {
            throw new IllegalStateException("decode run past its " + maxLen + " tokens");
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            step.clear();
            for (int s = 0; s < batch; s++) {
                one[0] = next[s];
                step.addSequence(one, 0, 1, position, tables[s], 0, adapters[s]);
            }
            backend.forward(step);
            pick();
            position++;
        }
        nanos += System.nanoTime() - t0;
        steps += n;
    }

    public Result result() {
        return new Result(batch, steps, nanos);
    }

    private void pick() {
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

package dev.loraxj.backend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A minimal stand-in for the engine in tests: sequences with block tables over a paged cache,
 * and steps that batch runs of tokens from several sequences. Blocks are handed out in a
 * scrambled order so block tables are not the identity.
 */
public final class Sequences {

    /** A run of tokens of one sequence in a step; {@code allLogits} asks for every row, else the last. */
    public record Run(int seq, int[] tokens, boolean allLogits, AdapterSlot adapter) {
        public Run(int seq, int[] tokens, boolean allLogits) {
            this(seq, tokens, allLogits, null);
        }
    }

    private final Backend backend;
    private final int blockSize;
    private final List<int[]> tables = new ArrayList<>();
    private final List<Integer> lengths = new ArrayList<>();
    private final int[] freeBlocks;
    private int nextFree;
    private final StepBatch batch;

    public Sequences(Backend backend, int numBlocks, int blockSize) {
        this.backend = backend;
        this.blockSize = blockSize;
        backend.allocateKvCache(numBlocks, blockSize);
        freeBlocks = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            freeBlocks[i] = (int) ((i * 7L + 3) % numBlocks);
        }
        batch = new StepBatch(backend.config().vocabSize());
    }

    /** A new empty sequence with room for {@code maxLen} tokens. */
    public int add(int maxLen) {
        int blocks = (maxLen + blockSize - 1) / blockSize;
        int[] table = Arrays.copyOfRange(freeBlocks, nextFree, nextFree + blocks);
        nextFree += blocks;
        tables.add(table);
        lengths.add(0);
        return tables.size() - 1;
    }

    /** Tokens the sequence holds in the cache. */
    public int length(int seq) {
        return lengths.get(seq);
    }

    /**
     * Forgets all but the first {@code length} tokens of the sequence, as the engine drops rejected
     * speculative candidates: by count only, leaving their K/V in place to be overwritten.
     */
    public void truncate(int seq, int length) {
        lengths.set(seq, length);
    }

    /** Runs one step and returns, per run, its logits rows flattened ({@code rows × vocab}). */
    public float[][] step(Run... runs) {
        batch.clear();
        for (Run r : runs) {
            int pos = lengths.get(r.seq());
            batch.addSequence(r.tokens(), 0, r.tokens().length, pos, tables.get(r.seq()),
                    r.allLogits() ? 0 : r.tokens().length - 1, r.adapter());
            lengths.set(r.seq(), pos + r.tokens().length);
        }
        backend.forward(batch);
        int vocab = batch.vocabSize();
        float[] logits = batch.logits();
        float[][] out = new float[runs.length][];
        int row = 0;
        for (int i = 0; i < runs.length; i++) {
            int rows = runs[i].allLogits() ? runs[i].tokens().length : 1;
            out[i] = Arrays.copyOfRange(logits, row * vocab, (row + rows) * vocab);
            row += rows;
        }
        return out;
    }

    /** Prefills {@code tokens} into a fresh sequence in chunks of {@code chunk}, returning all logits. */
    public float[] prefill(int seq, int[] tokens, int chunk) {
        return prefill(seq, tokens, chunk, null);
    }

    /** As {@link #prefill(int, int[], int)}, with an adapter. */
    public float[] prefill(int seq, int[] tokens, int chunk, AdapterSlot adapter) {
        int vocab = batch.vocabSize();
        float[] all = new float[tokens.length * vocab];
        for (int from = 0; from < tokens.length; from += chunk) {
            int[] part = Arrays.copyOfRange(tokens, from, Math.min(tokens.length, from + chunk));
            float[] got = step(new Run(seq, part, true, adapter))[0];
            System.arraycopy(got, 0, all, from * vocab, got.length);
        }
        return all;
    }

    public static int argmax(float[] v, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[off + i] > v[off + best]) {
                best = i;
            }
        }
        return best;
    }
}

package dev.loraxj.backend;

import java.util.Arrays;

/**
 * The work of one engine step, flattened: every scheduled sequence contributes a run of tokens
 * (one when decoding, a chunk when prefilling). The engine fills it; the backend reads it and
 * writes the logits. Arrays are reused across steps, so nothing is allocated per token.
 *
 * <p>Token {@code t} belongs to sequence {@code s} when {@code seqStart[s] <= t < seqStart[s+1]}.
 * Its K/V go to slot {@code positions[t] % blockSize} of block {@code blockTables[s][positions[t] / blockSize]},
 * and it attends to positions {@code 0..positions[t]} of its own sequence.
 */
public final class StepBatch {

    private int numTokens;
    private int numSeqs;
    private int numLogitRows;
    private int[] tokens = new int[64];
    private int[] positions = new int[64];
    private int[] seqStart = new int[17];
    private int[][] blockTables = new int[16][];
    private AdapterSlot[] adapters = new AdapterSlot[16];
    private int[] logitRows = new int[16];
    private float[] logits = new float[0];
    private final int vocabSize;

    public StepBatch(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    public void clear() {
        numTokens = 0;
        numSeqs = 0;
        numLogitRows = 0;
        seqStart[0] = 0;
    }

    /**
     * Adds a sequence's run of tokens at consecutive positions starting at {@code firstPosition}.
     *
     * @param logitsFrom index within the run from which logits are wanted (run length = none)
     * @return the sequence's index in this batch
     */
    public int addSequence(int[] runTokens, int from, int count, int firstPosition, int[] blockTable, int logitsFrom) {
        return addSequence(runTokens, from, count, firstPosition, blockTable, logitsFrom, null);
    }

    /**
     * As above, with the slot of the adapter the sequence runs with (null for the base model).
     * Sequences of one adapter are added next to each other, so their rows form one segment.
     */
    public int addSequence(int[] runTokens, int from, int count, int firstPosition, int[] blockTable, int logitsFrom,
                           AdapterSlot adapter) {
        if (numSeqs == blockTables.length) { // per-sequence arrays grow together; seqStart has one entry more
            int cap = blockTables.length * 2;
            blockTables = Arrays.copyOf(blockTables, cap);
            adapters = Arrays.copyOf(adapters, cap);
            seqStart = Arrays.copyOf(seqStart, cap + 1);
        }
        if (numTokens + count > tokens.length) {
            int cap = Math.max(tokens.length * 2, numTokens + count);
            tokens = Arrays.copyOf(tokens, cap);
            positions = Arrays.copyOf(positions, cap);
        }
        for (int i = 0; i < count; i++) {
            tokens[numTokens + i] = runTokens[from + i];
            positions[numTokens + i] = firstPosition + i;
        }
        int wanted = Math.max(0, count - logitsFrom);
        if (numLogitRows + wanted > logitRows.length) {
            logitRows = Arrays.copyOf(logitRows, Math.max(logitRows.length * 2, numLogitRows + wanted));
        }
        for (int i = logitsFrom; i < count; i++) {
            logitRows[numLogitRows++] = numTokens + i;
        }
        blockTables[numSeqs] = blockTable;
        adapters[numSeqs] = adapter;
        numTokens += count;
        numSeqs++;
        seqStart[numSeqs] = numTokens;
        return numSeqs - 1;
    }

    /**
     * Checks what a backend would otherwise read out of bounds: every token in the vocabulary, every
     * position within its sequence's block table, every block in a cache of {@code numBlocks}.
     */
    public void validate(int vocab, int blockSize, int numBlocks) {
        for (int s = 0; s < numSeqs; s++) {
            int[] table = blockTables[s];
            for (int t = seqStart[s]; t < seqStart[s + 1]; t++) {
                int token = tokens[t];
                int p = positions[t];
                if (token < 0 || token >= vocab) {
                    throw new IllegalArgumentException("token id " + token + " outside the vocabulary [0, " + vocab + ")");
                }
                if (p < 0) {
                    throw new IllegalArgumentException("negative position " + p);
                }
                if (table == null || p / blockSize >= table.length) {
                    throw new IllegalArgumentException("position " + p + " of sequence " + s + " is past its block table ("
                            + (table == null ? 0 : table.length) + " blocks of " + blockSize + ")");
                }
                int block = table[p / blockSize];
                if (block < 0 || block >= numBlocks) {
                    throw new IllegalArgumentException("block id " + block + " outside the KV cache [0, " + numBlocks + ")");
                }
            }
        }
        if (vocabSize != vocab) {
            throw new IllegalArgumentException("StepBatch vocab " + vocabSize + " differs from the model's " + vocab);
        }
    }

    /** Makes room for the logits; called by the backend before it writes them. */
    public float[] logitsBuffer() {
        int need = numLogitRows * vocabSize;
        if (logits.length < need) {
            logits = new float[Math.max(need, logits.length * 2)];
        }
        return logits;
    }

    public int numTokens() {
        return numTokens;
    }

    public int numSeqs() {
        return numSeqs;
    }

    public int numLogitRows() {
        return numLogitRows;
    }

    public int vocabSize() {
        return vocabSize;
    }

    public int token(int t) {
        return tokens[t];
    }

    public int position(int t) {
        return positions[t];
    }

    public int seqStart(int s) {
        return seqStart[s];
    }

    public int seqEnd(int s) {
        return seqStart[s + 1];
    }

    public int[] blockTable(int s) {
        return blockTables[s];
    }

    /** The adapter slot of sequence {@code s}, or null for the base model. */
    public AdapterSlot adapter(int s) {
        return adapters[s];
    }

    /** Token index of logits row {@code r}. */
    public int logitRow(int r) {
        return logitRows[r];
    }

    /** Logits row {@code r} starts at {@code r * vocabSize} in {@link #logits()}. */
    public float[] logits() {
        return logits;
    }

    /** The raw positions, for kernels that loop over every token. */
    public int[] positionsArray() {
        return positions;
    }
}

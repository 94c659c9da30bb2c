package dev.loraxj.backend.cuda;

import dev.loraxj.backend.StepBatch;

/**
 * A step's integer inputs flattened into one int array for one copy to the device: token ids,
 * positions, each token's sequence, the logit rows, and the block tables as a dense
 * {@code [seqs, maxBlocks]} matrix ({@code tables[seq * maxBlocks + i]}, what kv_store and
 * paged_attention index), {@code maxBlocks} the most blocks any sequence's positions reach this step.
 */
final class StepTables {

    private int[] ints = new int[0];
    private int tokens;
    private int seqs;
    private int rows;
    private int maxBlocks;

    /** Flattens {@code b}, already validated against a cache of {@code blockSize} slots a block. */
    void build(StepBatch b, int blockSize) {
        tokens = b.numTokens();
        seqs = b.numSeqs();
        rows = b.numLogitRows();
        maxBlocks = 1;
        for (int s = 0; s < seqs; s++) {
            for (int t = b.seqStart(s); t < b.seqEnd(s); t++) {
                maxBlocks = Math.max(maxBlocks, b.position(t) / blockSize + 1);
            }
        }
        int need = size();
        if (ints.length < need) {
            ints = new int[Math.max(need, ints.length * 2)];
        }
        for (int s = 0; s < seqs; s++) {
            int[] table = b.blockTable(s);
            int used = 0;
            for (int t = b.seqStart(s); t < b.seqEnd(s); t++) {
                ints[tokensAt() + t] = b.token(t);
                ints[positionsAt() + t] = b.position(t);
                ints[tokenSeqAt() + t] = s;
                used = Math.max(used, b.position(t) / blockSize + 1);
            }
            int base = tablesAt() + s * maxBlocks;
            for (int i = 0; i < maxBlocks; i++) {
                ints[base + i] = i < used ? table[i] : 0; // never read past a token's own position
            }
        }
        for (int r = 0; r < rows; r++) {
            ints[logitRowsAt() + r] = b.logitRow(r);
        }
    }

    int[] ints() {
        return ints;
    }

    /** Ints in use. */
    int size() {
        return 3 * tokens + rows + seqs * maxBlocks;
    }

    int maxBlocks() {
        return maxBlocks;
    }

    int tokensAt() {
        return 0;
    }

    int positionsAt() {
        return tokens;
    }

    int tokenSeqAt() {
        return 2 * tokens;
    }

    int logitRowsAt() {
        return 3 * tokens;
    }

    int tablesAt() {
        return 3 * tokens + rows;
    }
}

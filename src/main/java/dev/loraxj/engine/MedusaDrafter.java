package dev.loraxj.engine;

import dev.loraxj.backend.Backend;
import dev.loraxj.backend.MedusaHeads;

import java.util.Arrays;

/**
 * Proposes the next step's speculative candidates: top-1 of each Medusa head, read from the final
 * hidden state of each sequence's last accepted row. Sequences are queued while the step's rows are
 * read, then drafted together after it, so sequences that share heads run through them together and
 * each head's weights are read once per step. Owns its buffers, reused across steps. Engine thread only.
 */
final class MedusaDrafter {

    private final Backend backend;
    private final int hiddenSize;
    private final int vocabSize;
    // the queue: sequence i drafts from hidden row rows[i]; these three grow together
    private Sequence[] seqs = new Sequence[16];
    private int[] rows = new int[16];
    private boolean[] handled = new boolean[16];
    private int queued;
    private Sequence[] group = new Sequence[16];
    private float[] hidden = new float[0];
    private float[] headLogits = new float[0];

    MedusaDrafter(Backend backend) {
        this.backend = backend;
        this.hiddenSize = backend.config().hiddenSize();
        this.vocabSize = backend.config().vocabSize();
    }

    /**
     * Marks the sequence for candidates from {@code hiddenRow}, proposed by {@link #draft()}; a
     * sequence without heads, or in a step that does not speculate, gets none.
     */
    void queue(Sequence s, int hiddenRow, boolean speculating) {
        if (s.speculate() == 0 || !speculating) {
            s.drafted(0);
            return;
        }
        if (queued == seqs.length) {
            int cap = queued * 2;
            seqs = Arrays.copyOf(seqs, cap);
            rows = Arrays.copyOf(rows, cap);
            handled = Arrays.copyOf(handled, cap);
        }
        seqs[queued] = s;
        rows[queued++] = hiddenRow;
    }

    /** Forgets the queue of a step that failed before drafting: its rows name hidden states that are gone. */
    void clear() {
        Arrays.fill(seqs, 0, queued, null);
        queued = 0;
    }

    /** Proposes every queued sequence's candidates from this step's final hidden states, and empties the queue. */
    void draft() {
        float[] finalHidden = backend.finalHidden();
        Arrays.fill(handled, 0, queued, false);
        for (int first = 0; first < queued; first++) {
            if (handled[first]) {
                continue;
            }
            MedusaHeads heads = seqs[first].medusa();
            int n = gather(first, heads, finalHidden);
            backend.medusa(heads, hidden, n, headLogits);
            for (int j = 0; j < n; j++) {
                int k = group[j].speculate();
                for (int i = 0; i < k; i++) {
                    group[j].propose(i, argmax(headLogits, (i * n + j) * vocabSize, vocabSize));
                }
                group[j].drafted(k);
            }
        }
        Arrays.fill(seqs, 0, queued, null);
        Arrays.fill(group, null);
        queued = 0;
    }

    /** Collects the queued sequences from {@code first} on that use {@code heads} into the group and their hidden rows; returns how many. */
    private int gather(int first, MedusaHeads heads, float[] finalHidden) {
        int n = 0;
        for (int j = first; j < queued; j++) {
            if (!handled[j] && seqs[j].medusa() == heads) {
                n++;
            }
        }
        if (group.length < n) {
            group = new Sequence[Math.max(n, group.length * 2)];
        }
        if (hidden.length < n * hiddenSize) {
            hidden = new float[n * hiddenSize];
        }
        if (headLogits.length < heads.numHeads() * n * vocabSize) {
            headLogits = new float[heads.numHeads() * n * vocabSize];
        }
        int r = 0;
        for (int j = first; j < queued; j++) {
            if (!handled[j] && seqs[j].medusa() == heads) {
                handled[j] = true;
                group[r] = seqs[j];
                System.arraycopy(finalHidden, rows[j] * hiddenSize, hidden, r * hiddenSize, hiddenSize);
                r++;
            }
        }
        return n;
    }

    private static int argmax(float[] v, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[off + i] > v[off + best]) {
                best = i;
            }
        }
        return best;
    }
}

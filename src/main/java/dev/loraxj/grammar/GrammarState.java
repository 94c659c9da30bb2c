package dev.loraxj.grammar;

import java.util.Arrays;

/**
 * One sequence's place in its grammar: the stacks the output so far can be in. Before each token
 * the sampler asks for the {@link #mask}; after it, {@link #accept}. Not thread-safe (the engine
 * thread owns it).
 */
public final class GrammarState {

    private final Grammar grammar;
    private final TokenVocabulary vocab;
    private final long[] allowed;
    private final int[] eos;
    private FrameSet stacks;
    private FrameSet spare = new FrameSet();
    private final FrameSet walkOut = new FrameSet();
    private final FrameSet walkScratch = new FrameSet();
    private int[] tops = new int[4];
    private boolean ended;

    GrammarState(Grammar grammar) {
        this.grammar = grammar;
        this.vocab = grammar.vocabulary();
        this.allowed = new long[(vocab.size() + 63) >>> 6];
        this.eos = vocab.eos();
        this.stacks = grammar.startStacks();
    }

    public Grammar grammar() {
        return grammar;
    }

    /**
     * Sets to -inf every score in {@code scores[offset, offset + n)} whose token cannot come next;
     * end-of-sequence tokens stay only where the output may end. Returns how many tokens stay.
     */
    public int mask(float[] scores, int offset, int n) {
        Arrays.fill(allowed, 0);
        int distinct = 0;
        for (int i = 0; i < stacks.size(); i++) {
            int top = stacks.get(i).state();
            boolean seen = false;
            for (int j = 0; j < distinct && !seen; j++) {
                seen = tops[j] == top;
            }
            if (!seen) {
                if (distinct == tops.length) {
                    tops = Arrays.copyOf(tops, distinct * 2);
                }
                tops[distinct++] = top;
                grammar.orAccepted(top, allowed);
            }
        }
        for (int i = 0; i < stacks.size(); i++) {
            Frame f = stacks.get(i);
            for (int id : grammar.uncertain(f.state())) {
                if ((allowed[id >>> 6] & (1L << id)) == 0 && grammar.walk(f, vocab.bytes(id), walkOut, walkScratch)) {
                    allowed[id >>> 6] |= 1L << id;
                }
            }
        }
        if (complete()) {
            for (int e : eos) {
                if (e >= 0 && e < vocab.size()) {
                    allowed[e >>> 6] |= 1L << e;
                }
            }
        }
        int kept = 0;
        int limit = Math.min(n, vocab.size());
        for (int w = 0; w << 6 < n; w++) {
            long word = w < allowed.length ? allowed[w] : 0;
            int base = w << 6;
            if (base + 64 <= limit && word == -1L) {
                kept += 64;
                continue;
            }
            for (int b = 0; b < 64 && base + b < n; b++) {
                int id = base + b;
                if (id < limit && (word & (1L << b)) != 0) {
                    kept++;
                } else {
                    scores[offset + id] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        return kept;
    }

    /** Whether {@code id} may come next (as {@link #mask} allows it), computed for this one token. */
    public boolean allows(int id) {
        if (vocab.isEos(id)) {
            return complete();
        }
        byte[] b = vocab.bytes(id);
        if (b == null) {
            return false;
        }
        for (int i = 0; i < stacks.size(); i++) {
            if (grammar.walk(stacks.get(i), b, walkOut, walkScratch)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether after {@code id} the output can still be completed in {@code remaining} more tokens
     * (each at least one byte, and the vocabulary has a token for every byte, as byte-fallback and
     * byte-level vocabularies do).
     */
    public boolean fits(int id, int remaining) {
        if (vocab.isEos(id)) {
            return true;
        }
        byte[] b = vocab.bytes(id);
        if (b == null) {
            return false;
        }
        for (int i = 0; i < stacks.size(); i++) {
            if (grammar.walk(stacks.get(i), b, walkOut, walkScratch)) {
                for (int j = 0; j < walkOut.size(); j++) {
                    if (grammar.minCompletion(walkOut.get(j)) <= remaining) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** Fewest bytes that complete the output from here. */
    public int minCompletion() {
        int best = Grammar.INF;
        for (int i = 0; i < stacks.size(); i++) {
            best = Math.min(best, grammar.minCompletion(stacks.get(i)));
        }
        return best;
    }

    /** Advances past token {@code id}, which {@link #mask} allowed. */
    public void accept(int id) {
        if (ended) {
            throw new IllegalStateException("the output already ended");
        }
        if (vocab.isEos(id)) {
            if (!complete()) {
                throw new IllegalStateException("end of sequence before the " + grammar.description() + " is complete");
            }
            ended = true;
            return;
        }
        byte[] bytes = vocab.bytes(id);
        if (bytes == null) {
            throw new IllegalStateException("token " + id + " has no bytes the " + grammar.description() + " could accept");
        }
        FrameSet cur = stacks;
        for (byte x : bytes) {
            spare.clear();
            for (int i = 0; i < cur.size(); i++) {
                grammar.step(cur.get(i), x & 0xff, spare);
            }
            if (spare.isEmpty()) {
                throw new IllegalStateException("token " + id + " breaks the " + grammar.description());
            }
            FrameSet t = cur;
            cur = spare;
            spare = t;
        }
        stacks = cur;
    }

    /** The output so far is a whole value: it may end here. */
    public boolean complete() {
        for (int i = 0; i < stacks.size(); i++) {
            if (grammar.complete(stacks.get(i))) {
                return true;
            }
        }
        return false;
    }

    /** Some byte can still follow (when none can, the output is complete and generation stops). */
    public boolean canContinue() {
        if (ended) {
            return false;
        }
        FrameSet probe = walkScratch;
        for (int b = 0; b < 256; b++) {
            probe.clear();
            for (int i = 0; i < stacks.size(); i++) {
                grammar.step(stacks.get(i), b, probe);
                if (!probe.isEmpty()) {
                    return true;
                }
            }
        }
        return false;
    }
}

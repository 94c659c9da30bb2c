package dev.loraxj.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A constraint compiled against one vocabulary: the rules' automaton, each state's shortest way to
 * an end, and each state's token mask. A mask is computed for a state alone, as XGrammar does: the
 * tokens it accepts whatever the callers are, and the few "uncertain" tokens that pop past it,
 * which a running sequence checks against its real stack. So a step costs a bitset copy plus a
 * handful of short walks, not a walk of the whole vocabulary. Immutable; shared by all sequences.
 * Hand-written because no Java library constrains decoding to a grammar over a tokenizer's vocabulary.
 */
public final class Grammar {

    static final int INF = Integer.MAX_VALUE / 4;

    private final Automaton a;
    private final int[] next;
    private final TokenVocabulary vocab;
    private final int[] minLen;
    private final boolean[] deadEnd;
    private final long[][] dense;
    private final int[][] sparse;
    private final int[][] uncertain;
    private final String description;
    private final long bytes;

    private Grammar(Automaton a, TokenVocabulary vocab, String description) {
        this.a = a;
        this.next = a.next();
        this.vocab = vocab;
        this.description = description;
        int n = a.states();
        this.minLen = shortestEnds(a);
        if (minLen[a.ruleStart()[0]] >= INF) {
            throw new GrammarException("no output can satisfy the " + description);
        }
        prune();
        checkLeftRecursion();
        this.deadEnd = new boolean[n];
        for (int s = 0; s < n; s++) {
            boolean out = a.calls()[s].length > 0;
            for (int b = 0; b < 256 && !out; b++) {
                out = next[s * 256 + b] >= 0;
            }
            deadEnd[s] = a.accepting()[s] && !out;
        }
        this.dense = new long[n][];
        this.sparse = new int[n][];
        this.uncertain = new int[n][];
        long held = (long) next.length * 4;
        Masking m = new Masking();
        for (int s = 0; s < n; s++) {
            m.state(s);
            held += m.store(s);
        }
        this.bytes = held;
    }

    /** Compiles {@code rules} for {@code vocab}; {@code description} names the constraint in errors. */
    static Grammar compile(Rules rules, TokenVocabulary vocab, String description) {
        return new Grammar(Automaton.compile(rules), vocab, description);
    }

    /** A new sequence's state at the start of its output. */
    public GrammarState start() {
        return new GrammarState(this);
    }

    /** What this grammar constrains to (for errors and logs). */
    public String description() {
        return description;
    }

    /** Automaton states (a size for logs and limits). */
    public int states() {
        return a.states();
    }

    /** Memory held by the tables and masks. */
    public long bytes() {
        return bytes;
    }

    /** The fewest output bytes that complete the output from the start (so at least that many tokens can be needed). */
    public int minBytes() {
        return minLen[a.ruleStart()[0]];
    }

    /** A lower bound on the tokens the shortest output takes (its bytes over the longest token's). */
    public int minTokens() {
        return (minBytes() + vocab.maxTokenBytes() - 1) / Math.max(1, vocab.maxTokenBytes());
    }

    TokenVocabulary vocabulary() {
        return vocab;
    }

    FrameSet startStacks() {
        FrameSet s = new FrameSet();
        s.add(normalize(new Frame(a.ruleStart()[0], null)));
        return s;
    }

    /** Fewest bytes to the end of the output from this stack. */
    int minCompletion(Frame f) {
        long sum = 0;
        for (Frame x = f; x != null && x != Frame.BOTTOM; x = x.parent()) {
            sum += minLen[x.state()];
        }
        return (int) Math.min(sum, INF);
    }

    boolean complete(Frame f) {
        for (Frame x = f; x != null; x = x.parent()) {
            if (minLen[x.state()] != 0) {
                return false;
            }
        }
        return true;
    }

    /** Adds to {@code out} every stack that consuming byte {@code b} from stack {@code f} leads to. */
    void step(Frame f, int b, FrameSet out) {
        step(f, b, out, 0);
    }

    private void step(Frame f, int b, FrameSet out, int depth) {
        if (depth > 10_000) {
            throw new GrammarException("the " + description + " nests too deep to follow");
        }
        int s = f.state();
        int t = next[s * 256 + b];
        if (t >= 0) {
            out.add(normalize(new Frame(t, f.parent())));
        }
        int[] calls = a.calls()[s];
        for (int k = 0; k < calls.length; k += 2) {
            Frame ret = normalize(new Frame(calls[k + 1], f.parent()));
            step(new Frame(a.ruleStart()[calls[k]], ret), b, out, depth + 1);
        }
        if (a.accepting()[s]) {
            Frame p = f.parent();
            if (p == Frame.BOTTOM) {
                out.poppedBottom = true;
            } else if (p != null) {
                step(p, b, out, depth + 1);
            }
        }
    }

    /** Pops frames that can only end (tail calls, a closed object): a mask then comes from the caller's state. */
    private Frame normalize(Frame f) {
        while (deadEnd != null && deadEnd[f.state()] && f.parent() != null && f.parent() != Frame.BOTTOM) {
            f = f.parent();
        }
        return f;
    }

    /** Whether {@code f} can consume {@code bytes}; the stacks after them go to {@code out} (cleared first). */
    boolean walk(Frame f, byte[] bytes, FrameSet out, FrameSet scratch) {
        out.clear();
        out.add(f);
        FrameSet cur = out;
        FrameSet other = scratch;
        for (byte x : bytes) {
            other.clear();
            for (int i = 0; i < cur.size(); i++) {
                step(cur.get(i), x & 0xff, other);
            }
            if (other.isEmpty()) {
                return false;
            }
            FrameSet t = cur;
            cur = other;
            other = t;
        }
        if (cur != out) {
            out.clear();
            for (int i = 0; i < cur.size(); i++) {
                out.add(cur.get(i));
            }
        }
        return true;
    }

    /** ORs state {@code s}'s caller-independent tokens into {@code allowed}. */
    void orAccepted(int s, long[] allowed) {
        long[] d = dense[s];
        if (d != null) {
            for (int i = 0; i < d.length; i++) {
                allowed[i] |= d[i];
            }
            return;
        }
        for (int id : sparse[s]) {
            allowed[id >>> 6] |= 1L << id;
        }
    }

    int[] uncertain(int s) {
        return uncertain[s];
    }

    /** minLen[s]: fewest bytes from state s to its rule's end, calls costing their rule's own (Bellman-Ford to a fixed point). */
    private static int[] shortestEnds(Automaton a) {
        int n = a.states();
        int[][] succ = successors(a);
        int[] min = new int[n];
        for (int s = 0; s < n; s++) {
            min[s] = a.accepting()[s] ? 0 : INF;
        }
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int s = n - 1; s >= 0; s--) {
                int best = min[s];
                for (int t : succ[s]) {
                    best = Math.min(best, 1 + min[t]);
                }
                int[] calls = a.calls()[s];
                for (int k = 0; k < calls.length; k += 2) {
                    best = (int) Math.min(best, (long) min[a.ruleStart()[calls[k]]] + min[calls[k + 1]]);
                }
                if (best < min[s]) {
                    min[s] = best;
                    changed = true;
                }
            }
        }
        return min;
    }

    private static int[][] successors(Automaton a) {
        int n = a.states();
        int[][] succ = new int[n][];
        int[] buf = new int[256];
        for (int s = 0; s < n; s++) {
            int count = 0;
            for (int b = 0; b < 256; b++) {
                int t = a.next()[s * 256 + b];
                if (t >= 0 && (count == 0 || buf[count - 1] != t)) {
                    boolean seen = false;
                    for (int i = 0; i < count && !seen; i++) {
                        seen = buf[i] == t;
                    }
                    if (!seen) {
                        buf[count++] = t;
                    }
                }
            }
            succ[s] = Arrays.copyOf(buf, count);
        }
        return succ;
    }

    /** Drops edges into states that cannot reach an end, so every step a mask allows can still be completed. */
    private void prune() {
        int n = a.states();
        for (int s = 0; s < n; s++) {
            for (int b = 0; b < 256; b++) {
                int t = next[s * 256 + b];
                if (t >= 0 && minLen[t] >= INF) {
                    next[s * 256 + b] = -1;
                }
            }
            int[] calls = a.calls()[s];
            int kept = 0;
            int[] out = new int[calls.length];
            for (int k = 0; k < calls.length; k += 2) {
                if (minLen[a.ruleStart()[calls[k]]] < INF && minLen[calls[k + 1]] < INF) {
                    out[kept++] = calls[k];
                    out[kept++] = calls[k + 1];
                }
            }
            a.calls()[s] = Arrays.copyOf(out, kept);
        }
    }

    /** A rule that can call itself before reading a byte would loop forever: refused. */
    private void checkLeftRecursion() {
        int rules = a.ruleStart().length;
        List<List<Integer>> left = new ArrayList<>();
        for (int r = 0; r < rules; r++) {
            List<Integer> callees = new ArrayList<>();
            boolean[] seen = new boolean[a.states()];
            ArrayList<Integer> todo = new ArrayList<>(List.of(a.ruleStart()[r]));
            seen[a.ruleStart()[r]] = true;
            while (!todo.isEmpty()) {
                int s = todo.removeLast();
                int[] calls = a.calls()[s];
                for (int k = 0; k < calls.length; k += 2) {
                    callees.add(calls[k]);
                    if (minLen[a.ruleStart()[calls[k]]] == 0 && !seen[calls[k + 1]]) {
                        seen[calls[k + 1]] = true;
                        todo.add(calls[k + 1]);
                    }
                }
            }
            left.add(callees);
        }
        int[] color = new int[rules];
        for (int r = 0; r < rules; r++) {
            if (color[r] == 0 && cycle(r, left, color)) {
                throw new GrammarException("the " + description + " refers to itself before any output (e.g. a $ref that is its own"
                        + " first alternative), which no output can end");
            }
        }
    }

    private static boolean cycle(int r, List<List<Integer>> left, int[] color) {
        color[r] = 1;
        for (int c : left.get(r)) {
            if (color[c] == 1 || color[c] == 0 && cycle(c, left, color)) {
                return true;
            }
        }
        color[r] = 2;
        return false;
    }

    /** Computes one state's mask by walking the vocabulary trie from it with unknown callers. */
    private final class Masking {
        private final long[] bits = new long[(vocab.size() + 63) >>> 6];
        private int[] unsure = new int[64];
        private int unsureCount;

        void state(int s) {
            Arrays.fill(bits, 0);
            unsureCount = 0;
            single(0, s, a.ruleOf()[s] == 0 ? null : Frame.BOTTOM, false);
        }

        /**
         * The walk while the stack is one frame (s over parent) that only moves within its rule: a
         * table lookup per trie edge, nothing allocated. Most of a string's or a number's tokens go
         * this way; calls, returns and ambiguity take the general walk.
         */
        private void single(int node, int s, Frame parent, boolean dependent) {
            if (a.calls()[s].length != 0 || a.accepting()[s] && parent != null) {
                FrameSet set = new FrameSet();
                set.add(new Frame(s, parent));
                dfs(node, set, dependent);
                return;
            }
            for (int e = vocab.childStart[node], end = vocab.childStart[node + 1]; e < end; e++) {
                int c = vocab.childNode[e];
                int t = next[s * 256 + vocab.childByte[e]];
                if (t < 0) {
                    if (dependent) {
                        unsureSubtree(c);
                    }
                    continue;
                }
                for (int k = vocab.tokenStart[c], kEnd = vocab.tokenStart[c + 1]; k < kEnd; k++) {
                    int id = vocab.tokenIds[k];
                    bits[id >>> 6] |= 1L << id;
                }
                if (deadEnd[t] && parent != null && parent != Frame.BOTTOM) {
                    FrameSet set = new FrameSet();
                    set.add(normalize(new Frame(t, parent)));
                    dfs(c, set, dependent);
                } else {
                    single(c, t, parent, dependent);
                }
            }
        }

        private void unsureSubtree(int c) {
            for (int t = vocab.tokenStart[c], tEnd = vocab.tokenStart[vocab.subtreeEnd[c]]; t < tEnd; t++) {
                addUnsure(vocab.tokenIds[t]);
            }
        }

        private void dfs(int node, FrameSet set, boolean dependent) {
            for (int e = vocab.childStart[node], end = vocab.childStart[node + 1]; e < end; e++) {
                int c = vocab.childNode[e];
                FrameSet ns = new FrameSet();
                for (int i = 0; i < set.size(); i++) {
                    step(set.get(i), vocab.childByte[e], ns);
                }
                boolean dep = dependent || ns.poppedBottom;
                if (ns.isEmpty()) {
                    if (dep) {
                        unsureSubtree(c);
                    }
                    continue;
                }
                for (int t = vocab.tokenStart[c], tEnd = vocab.tokenStart[c + 1]; t < tEnd; t++) {
                    int id = vocab.tokenIds[t];
                    bits[id >>> 6] |= 1L << id;
                }
                if (ns.size() == 1) {
                    single(c, ns.get(0).state(), ns.get(0).parent(), dep);
                } else {
                    dfs(c, ns, dep);
                }
            }
        }

        private void addUnsure(int id) {
            if (unsureCount == unsure.length) {
                unsure = Arrays.copyOf(unsure, unsureCount * 2);
            }
            unsure[unsureCount++] = id;
        }

        /** Keeps the mask dense or as a list, whichever is smaller; returns the bytes kept. */
        long store(int s) {
            int count = 0;
            for (long w : bits) {
                count += Long.bitCount(w);
            }
            if (count < bits.length * 2) {
                int[] ids = new int[count];
                int at = 0;
                for (int w = 0; w < bits.length; w++) {
                    for (long x = bits[w]; x != 0; x &= x - 1) {
                        ids[at++] = (w << 6) + Long.numberOfTrailingZeros(x);
                    }
                }
                sparse[s] = ids;
            } else {
                dense[s] = bits.clone();
            }
            uncertain[s] = Arrays.copyOf(unsure, unsureCount);
            return (dense[s] != null ? dense[s].length * 8L : sparse[s].length * 4L) + unsureCount * 4L;
        }
    }
}

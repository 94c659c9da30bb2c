package dev.loraxj.grammar;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The rules as one table of deterministic byte automata, one per rule, whose edges are bytes or
 * calls of other rules (a recursive transition network: a pushdown automaton once run with a stack).
 * Each rule is compiled Thompson-style to an NFA, then determinized by subsets, with each call
 * label a symbol like a byte.
 *
 * @param next       next[s * 256 + b]: the state after byte b in state s, or -1
 * @param calls      calls[s]: pairs (callee rule, return state)
 * @param accepting  whether state s ends its rule
 * @param ruleStart  each rule's start state
 * @param ruleOf     each state's rule
 */
record Automaton(int[] next, int[][] calls, boolean[] accepting, int[] ruleStart, int[] ruleOf) {

    static final int MAX_NFA_STATES = 400_000;
    static final int MAX_STATES = 60_000;
    private static final int[] NO_CALLS = new int[0];

    int states() {
        return accepting.length;
    }

    static Automaton compile(Rules rules) {
        int n = rules.size();
        List<int[]> nextRows = new ArrayList<>();
        List<int[]> calls = new ArrayList<>();
        List<Boolean> accepting = new ArrayList<>();
        List<Integer> ruleOf = new ArrayList<>();
        int[] start = new int[n];
        for (int r = 0; r < n; r++) {
            Nfa nfa = new Nfa();
            int s = nfa.state();
            int e = nfa.state();
            nfa.build(rules.body(r), s, e);
            start[r] = nextRows.size();
            nfa.determinize(s, e, r, nextRows, calls, accepting, ruleOf);
        }
        int total = nextRows.size();
        int[] next = new int[total * 256];
        boolean[] acc = new boolean[total];
        int[] of = new int[total];
        int[][] callTable = new int[total][];
        for (int i = 0; i < total; i++) {
            System.arraycopy(nextRows.get(i), 0, next, i * 256, 256);
            acc[i] = accepting.get(i);
            of[i] = ruleOf.get(i);
            callTable[i] = calls.get(i).length == 0 ? NO_CALLS : calls.get(i);
        }
        return new Automaton(next, callTable, acc, start, of);
    }

    /** Thompson NFA of one rule; states are indices, edges kept per state. */
    private static final class Nfa {
        private final List<int[]> eps = new ArrayList<>();     // targets
        private final List<int[]> bytes = new ArrayList<>();   // lo, hi, target triples
        private final List<int[]> calls = new ArrayList<>();   // rule, target pairs

        int state() {
            if (eps.size() >= MAX_NFA_STATES) {
                throw new GrammarException("the constraint is too large to compile (over " + MAX_NFA_STATES
                        + " automaton states); lower maxLength, maxItems or the schema's size");
            }
            eps.add(new int[0]);
            bytes.add(new int[0]);
            calls.add(new int[0]);
            return eps.size() - 1;
        }

        private static void append(List<int[]> list, int at, int... values) {
            int[] old = list.get(at);
            int[] grown = Arrays.copyOf(old, old.length + values.length);
            System.arraycopy(values, 0, grown, old.length, values.length);
            list.set(at, grown);
        }

        void build(Rx rx, int from, int to) {
            switch (rx) {
                case Rx.Bytes b -> append(bytes, from, b.lo(), b.hi(), to);
                case Rx.Call c -> append(calls, from, c.rule(), to);
                case Rx.Alt a -> {
                    for (Rx o : a.options()) {
                        build(o, from, to);
                    }
                }
                case Rx.Seq s -> {
                    int at = from;
                    List<Rx> items = s.items();
                    if (items.isEmpty()) {
                        append(eps, from, to);
                        return;
                    }
                    for (int i = 0; i < items.size(); i++) {
                        int end = i == items.size() - 1 ? to : state();
                        build(items.get(i), at, end);
                        at = end;
                    }
                }
                case Rx.Repeat r -> repeat(r, from, to);
                case Rx.Members m -> members(m, from, to);
                case Rx.Avoid a -> avoid(a.literal().getBytes(java.nio.charset.StandardCharsets.UTF_8), from, to);
            }
        }

        private void repeat(Rx.Repeat r, int from, int to) {
            int at = from;
            for (int i = 0; i < r.min(); i++) {
                int end = state();
                build(r.body(), at, end);
                at = end;
            }
            if (r.max() == -1) {
                int loop = state();
                append(eps, at, loop);
                int back = state();
                build(r.body(), loop, back);
                append(eps, back, loop);
                append(eps, loop, to);
                return;
            }
            for (int i = r.min(); i < r.max(); i++) {
                append(eps, at, to);
                int end = state();
                build(r.body(), at, end);
                at = end;
            }
            append(eps, at, to);
        }

        private void members(Rx.Members m, int from, int to) {
            int n = m.members().size();
            int none = from;     // nothing written yet
            int some = state();  // something written: the next member needs the separator
            for (int i = 0; i < n; i++) {
                int noneNext = state();
                int someNext = state();
                Rx member = m.members().get(i);
                build(member, none, someNext);
                build(Rx.seq(m.separator(), member), some, someNext);
                if (!m.required().get(i)) {
                    append(eps, none, noneNext);
                    append(eps, some, someNext);
                } else {
                    noneNext = -1; // a required member: the "nothing yet" track ends here
                }
                none = noneNext;
                some = someNext;
                if (none < 0) {
                    // every later member comes after something written
                    for (int j = i + 1; j < n; j++) {
                        int next = state();
                        Rx later = m.members().get(j);
                        build(Rx.seq(m.separator(), later), some, next);
                        if (!m.required().get(j)) {
                            append(eps, some, next);
                        }
                        some = next;
                    }
                    break;
                }
            }
            if (none >= 0) {
                append(eps, none, to);
            }
            append(eps, some, to);
        }

        /** Knuth-Morris-Pratt: state k = the longest prefix of the literal just read; reaching the whole literal is not allowed. */
        private void avoid(byte[] lit, int from, int to) {
            int m = lit.length;
            int[] fail = new int[m + 1];
            for (int i = 1, k = 0; i < m; i++) {
                while (k > 0 && lit[i] != lit[k]) {
                    k = fail[k];
                }
                if (lit[i] == lit[k]) {
                    k++;
                }
                fail[i + 1] = k;
            }
            int[] st = new int[m];
            for (int k = 0; k < m; k++) {
                st[k] = state();
                append(eps, st[k], to);
            }
            append(eps, from, st[0]);
            for (int k = 0; k < m; k++) {
                for (int b = 0; b < 256; b++) {
                    int j = k;
                    while (j > 0 && (lit[j] & 0xff) != b) {
                        j = fail[j];
                    }
                    if ((lit[j] & 0xff) == b) {
                        j++;
                    }
                    if (j < m) {
                        append(bytes, st[k], b, b, st[j]);
                    }
                }
            }
        }

        private int[] closure(int[] seeds) {
            boolean[] seen = new boolean[eps.size()];
            ArrayDeque<Integer> todo = new ArrayDeque<>();
            for (int s : seeds) {
                if (!seen[s]) {
                    seen[s] = true;
                    todo.add(s);
                }
            }
            int count = 0;
            int[] out = new int[16];
            while (!todo.isEmpty()) {
                int s = todo.poll();
                if (count == out.length) {
                    out = Arrays.copyOf(out, count * 2);
                }
                out[count++] = s;
                for (int t : eps.get(s)) {
                    if (!seen[t]) {
                        seen[t] = true;
                        todo.add(t);
                    }
                }
            }
            int[] set = Arrays.copyOf(out, count);
            Arrays.sort(set);
            return set;
        }

        void determinize(int start, int end, int rule, List<int[]> nextRows, List<int[]> callRows,
                         List<Boolean> accepting, List<Integer> ruleOf) {
            int base = nextRows.size();
            Map<Key, Integer> ids = new HashMap<>();
            List<int[]> sets = new ArrayList<>();
            int[] first = closure(new int[]{start});
            ids.put(new Key(first), base);
            sets.add(first);
            nextRows.add(null);
            callRows.add(null);
            accepting.add(null);
            ruleOf.add(rule);
            int[] targets = new int[64];
            for (int i = 0; i < sets.size(); i++) {
                int[] set = sets.get(i);
                int[] row = new int[256];
                Arrays.fill(row, -1);
                // each byte's target set; most bytes share few sets, so cache by the target list
                Map<Key, Integer> byTargets = new HashMap<>();
                for (int b = 0; b < 256; b++) {
                    int count = 0;
                    for (int s : set) {
                        int[] edges = bytes.get(s);
                        for (int k = 0; k < edges.length; k += 3) {
                            if (b >= edges[k] && b <= edges[k + 1]) {
                                if (count == targets.length) {
                                    targets = Arrays.copyOf(targets, count * 2);
                                }
                                targets[count++] = edges[k + 2];
                            }
                        }
                    }
                    if (count == 0) {
                        continue;
                    }
                    Key raw = new Key(Arrays.copyOf(targets, count));
                    Integer id = byTargets.get(raw);
                    if (id == null) {
                        id = intern(closure(raw.set), ids, sets, nextRows, callRows, accepting, ruleOf, rule);
                        byTargets.put(raw, id);
                    }
                    row[b] = id;
                }
                TreeMap<Integer, List<Integer>> byCallee = new TreeMap<>();
                for (int s : set) {
                    int[] c = calls.get(s);
                    for (int k = 0; k < c.length; k += 2) {
                        byCallee.computeIfAbsent(c[k], x -> new ArrayList<>()).add(c[k + 1]);
                    }
                }
                int[] callRow = new int[byCallee.size() * 2];
                int at = 0;
                for (Map.Entry<Integer, List<Integer>> e : byCallee.entrySet()) {
                    callRow[at++] = e.getKey();
                    callRow[at++] = intern(closure(e.getValue().stream().mapToInt(Integer::intValue).toArray()),
                            ids, sets, nextRows, callRows, accepting, ruleOf, rule);
                }
                nextRows.set(base + i, row);
                callRows.set(base + i, callRow);
                accepting.set(base + i, Arrays.binarySearch(set, end) >= 0);
            }
        }

        private static int intern(int[] set, Map<Key, Integer> ids, List<int[]> sets, List<int[]> nextRows, List<int[]> callRows,
                                  List<Boolean> accepting, List<Integer> ruleOf, int rule) {
            Key key = new Key(set);
            Integer id = ids.get(key);
            if (id != null) {
                return id;
            }
            if (nextRows.size() >= MAX_STATES) {
                throw new GrammarException("the constraint is too large to compile (over " + MAX_STATES
                        + " automaton states); lower maxLength, maxItems or the schema's size");
            }
            id = nextRows.size();
            ids.put(key, id);
            sets.add(set);
            nextRows.add(null);
            callRows.add(null);
            accepting.add(null);
            ruleOf.add(rule);
            return id;
        }
    }

    private record Key(int[] set) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(set, k.set);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(set);
        }
    }
}

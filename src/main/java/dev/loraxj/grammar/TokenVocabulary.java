package dev.loraxj.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * The tokens a grammar may choose from, as the bytes each adds to the output text, in a trie for
 * walking many tokens at once. Tokens without bytes (special tokens, unused ids) are never allowed;
 * {@code eos} ids are allowed only where the grammar may end. Built once per tokenizer.
 */
public final class TokenVocabulary {

    private final byte[][] bytes;
    private final int[] eos;
    // the trie in preorder: node n's subtree is [n, subtreeEnd[n]); its tokens are contiguous
    final int[] childStart;
    final int[] childByte;
    final int[] childNode;
    final int[] tokenStart;
    final int[] tokenIds;
    final int[] subtreeEnd;
    private final int maxTokenBytes;

    /**
     * @param bytes each id's output bytes, or null where the id never appears in constrained output
     * @param eos   the end-of-sequence ids
     */
    public TokenVocabulary(byte[][] bytes, int[] eos) {
        this.bytes = bytes.clone();
        this.eos = eos.clone();
        Node root = new Node();
        int longest = 0;
        for (int id = 0; id < bytes.length; id++) {
            byte[] b = bytes[id];
            if (b == null || b.length == 0 || isEos(id)) {
                this.bytes[id] = null;
                continue;
            }
            longest = Math.max(longest, b.length);
            Node n = root;
            for (byte x : b) {
                n = n.children.computeIfAbsent(x & 0xff, k -> new Node());
            }
            n.tokens.add(id);
        }
        this.maxTokenBytes = longest;
        List<Node> order = new ArrayList<>();
        number(root, order);
        int nodes = order.size();
        childStart = new int[nodes + 1];
        tokenStart = new int[nodes + 1];
        subtreeEnd = new int[nodes];
        int edges = 0;
        int tokens = 0;
        for (Node n : order) {
            edges += n.children.size();
            tokens += n.tokens.size();
        }
        childByte = new int[edges];
        childNode = new int[edges];
        tokenIds = new int[tokens];
        int e = 0;
        int t = 0;
        for (int i = 0; i < nodes; i++) {
            Node n = order.get(i);
            childStart[i] = e;
            for (var c : n.children.entrySet()) {
                childByte[e] = c.getKey();
                childNode[e++] = c.getValue().id;
            }
            tokenStart[i] = t;
            for (int id : n.tokens) {
                tokenIds[t++] = id;
            }
            subtreeEnd[i] = n.end;
        }
        childStart[nodes] = e;
        tokenStart[nodes] = t;
    }

    private static void number(Node n, List<Node> order) {
        n.id = order.size();
        order.add(n);
        for (Node c : n.children.values()) {
            number(c, order);
        }
        n.end = order.size();
    }

    private static final class Node {
        final TreeMap<Integer, Node> children = new TreeMap<>();
        final List<Integer> tokens = new ArrayList<>(1);
        int id;
        int end;
    }

    /** One past the highest id. */
    public int size() {
        return bytes.length;
    }

    /** The id's output bytes, or null if it is never allowed (special, unused, or end-of-sequence). */
    byte[] bytes(int id) {
        return id >= 0 && id < bytes.length ? bytes[id] : null;
    }

    boolean isEos(int id) {
        for (int e : eos) {
            if (e == id) {
                return true;
            }
        }
        return false;
    }

    int[] eos() {
        return eos.clone();
    }

    int maxTokenBytes() {
        return maxTokenBytes;
    }

    int nodes() {
        return subtreeEnd.length;
    }

    @Override
    public String toString() {
        return "TokenVocabulary[" + bytes.length + " ids, " + tokenIds.length + " with bytes, " + nodes() + " trie nodes, eos "
                + Arrays.toString(eos) + "]";
    }
}

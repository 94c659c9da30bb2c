package dev.loraxj.backend.cpu;

/** RoPE on each token's q and k, then k and v into the token's KV cache slot; parallel over tokens. */
final class RotateAndStore implements Parallel.Body {

    private final Rope rope;
    private final int numHeads;
    private final int numKvHeads;
    private final int qDim;
    private final int kvDim;

    private KvCache cache;
    private int layer;
    private int[] positions;
    private int[] seqOf;
    private int[][] tables;
    private float[] q;
    private float[] k;
    private float[] v;

    RotateAndStore(Rope rope, int numHeads, int numKvHeads, int headDim) {
        this.rope = rope;
        this.numHeads = numHeads;
        this.numKvHeads = numKvHeads;
        this.qDim = numHeads * headDim;
        this.kvDim = numKvHeads * headDim;
    }

    void run(Parallel pool, KvCache cache, int layer, int tokens, int[] positions, int[] seqOf, int[][] tables,
             float[] q, float[] k, float[] v) {
        this.cache = cache;
        this.layer = layer;
        this.positions = positions;
        this.seqOf = seqOf;
        this.tables = tables;
        this.q = q;
        this.k = k;
        this.v = v;
        pool.forRange(tokens, this);
        this.q = null;
        this.k = null;
        this.v = null;
        this.tables = null;
    }

    @Override
    public void run(int from, int to, int worker) {
        for (int t = from; t < to; t++) {
            rope.rotate(q, t * qDim, numHeads, t);
            rope.rotate(k, t * kvDim, numKvHeads, t);
            cache.write(layer, tables[seqOf[t]], positions[t], k, t * kvDim, v, t * kvDim);
        }
    }
}

package dev.loraxj.backend.cpu;

import dev.loraxj.backend.LinearModule;
import dev.loraxj.backend.StepBatch;
import dev.loraxj.model.ModelConfig;

import java.util.Arrays;

/**
 * One engine step through a Llama-family model, top to bottom like the paper: embed, then per block
 * RMSNorm → q/k/v → RoPE → KV write → attention → o → residual → RMSNorm → gate/up → SiLU·up → down →
 * residual, then the final norm and the head for the rows that want logits. Activations are
 * row-major {@code [T, width]} float arrays that grow with the batch and are reused across steps.
 */
final class LlamaForward {

    private final ModelConfig cfg;
    private final LlamaWeights weights;
    private final Parallel pool;
    private final Rope rope;
    private final Attention attention;
    private final Projection projection = new Projection();
    private final LoraDelta lora;
    private final GatedSilu gatedSilu = new GatedSilu();
    private final RotateAndStore rotateAndStore;
    private final Linear[][] qkv;
    private final Linear[][] gateUp;
    private final Linear[][] o;
    private final Linear[][] down;
    private final Linear[] head;

    private int capacity;
    private float[] x;       // residual stream [T, hidden]
    private float[] xn;      // normed input of a block [T, hidden]
    private float[] q, k, v; // [T, qDim], [T, kvDim], [T, kvDim]
    private float[] att;     // attention output [T, qDim]
    private float[] tmp;     // block output before the residual add [T, hidden]
    private float[] gate, up; // [T, ffn]
    private final float[][] qkvOut = new float[3][];
    private final float[][] gateUpOut = new float[2][];
    private final float[][] hiddenOut = new float[1][];
    private float[] finalHidden = new float[0]; // final-normed hidden of the logit rows [R, hidden]
    private int[] seqOf = new int[0];
    private int[][] tables = new int[0][];

    LlamaForward(ModelConfig cfg, LlamaWeights weights, Parallel pool) {
        this.cfg = cfg;
        this.weights = weights;
        this.pool = pool;
        this.rope = new Rope(cfg.ropeInvFreq());
        this.attention = new Attention(cfg, pool.threads());
        this.lora = new LoraDelta(pool);
        this.rotateAndStore = new RotateAndStore(rope, cfg.numHeads(), cfg.numKvHeads(), cfg.headDim());
        int n = weights.layers.length;
        qkv = new Linear[n][];
        gateUp = new Linear[n][];
        o = new Linear[n][];
        down = new Linear[n][];
        for (int l = 0; l < n; l++) {
            LayerWeights w = weights.layers[l];
            qkv[l] = w.qkv();
            gateUp[l] = w.gateUp();
            o[l] = new Linear[] {w.o()};
            down[l] = new Linear[] {w.down()};
        }
        head = new Linear[] {weights.lmHead};
        grow(16);
    }

    void forward(StepBatch b, KvCache cache) {
        int T = b.numTokens();
        if (T == 0) {
            return;
        }
        check(b, cache);
        grow(T);
        lora.prepare(b);
        if (tables.length < b.numSeqs()) {
            tables = new int[Math.max(b.numSeqs(), tables.length * 2)][];
        }
        int h = cfg.hiddenSize();
        for (int s = 0; s < b.numSeqs(); s++) {
            tables[s] = b.blockTable(s);
            Arrays.fill(seqOf, b.seqStart(s), b.seqEnd(s), s);
        }
        for (int t = 0; t < T; t++) {
            weights.embed(b.token(t), x, t * h);
        }
        rope.prepare(b.positionsArray(), T);
        for (int l = 0; l < weights.layers.length; l++) {
            block(l, b, cache, T);
        }
        int rows = b.numLogitRows();
        if (rows == 0) {
            return;
        }
        if (finalHidden.length < rows * h) {
            finalHidden = new float[Math.max(rows * h, finalHidden.length * 2)];
        }
        for (int r = 0; r < rows; r++) {
            RmsNorm.apply(x, b.logitRow(r) * h, weights.finalNorm, cfg.rmsNormEps(), finalHidden, r * h, h);
        }
        hiddenOut[0] = b.logitsBuffer();
        // Medusa heads (issue 7) read finalHidden here, before the head.
        project(head, finalHidden, rows, hiddenOut);
    }

    /** The base lm_head over {@code rows} hidden states (v2 Medusa heads): {@code out[rows, vocab]}. */
    void head(float[] hidden, int rows, float[] out) {
        float[][] outs = {out};
        projection.run(pool, hidden, rows, head, outs);
    }

    /** The final-normed hidden states of the last step's logit rows, {@code [numLogitRows, hidden]}. */
    float[] finalHidden() {
        return finalHidden;
    }

    private void block(int l, StepBatch b, KvCache cache, int T) {
        LayerWeights w = weights.layers[l];
        int h = cfg.hiddenSize();
        float eps = cfg.rmsNormEps();

        RmsNorm.rows(x, w.inputNorm(), eps, xn, T, h);
        project(qkv[l], xn, T, qkvOut);
        int[] positions = b.positionsArray();
        rotateAndStore.run(pool, cache, l, T, positions, seqOf, tables, q, k, v);
        attention.run(pool, cache, l, T, positions, seqOf, tables, q, att);
        hiddenOut[0] = tmp;
        project(o[l], att, T, hiddenOut);
        Vec.add(x, 0, tmp, 0, T * h);

        RmsNorm.rows(x, w.postAttentionNorm(), eps, xn, T, h);
        project(gateUp[l], xn, T, gateUpOut);
        gatedSilu.run(pool, gate, up, T, cfg.intermediateSize());
        hiddenOut[0] = tmp;
        project(down[l], gate, T, hiddenOut);
        Vec.add(x, 0, tmp, 0, T * h);
    }

    /**
     * The one place every linear goes through (each {@link Linear} names its module and layer): the
     * base matmul once for the whole batch, then each adapter's LoRA update on its segment of rows.
     */
    private void project(Linear[] group, float[] input, int T, float[][] outputs) {
        projection.run(pool, input, T, group, outputs);
        if (lora.active()) {
            for (int i = 0; i < group.length; i++) {
                Linear w = group[i];
                if (w.module() != LinearModule.LM_HEAD) {
                    lora.apply(w.layer(), w.module(), input, w.cols(), outputs[i], w.rows(), T);
                }
            }
        }
    }

    private void check(StepBatch b, KvCache cache) {
        if (cache == null) {
            throw new IllegalStateException("forward before allocateKvCache");
        }
        b.validate(cfg.vocabSize(), cache.blockSize(), cache.numBlocks());
    }

    private void grow(int T) {
        if (T <= capacity) {
            return;
        }
        int n = Math.max(T, capacity * 2);
        int h = cfg.hiddenSize();
        x = new float[n * h];
        xn = new float[n * h];
        tmp = new float[n * h];
        q = new float[n * cfg.qDim()];
        att = new float[n * cfg.qDim()];
        k = new float[n * cfg.kvDim()];
        v = new float[n * cfg.kvDim()];
        gate = new float[n * cfg.intermediateSize()];
        up = new float[n * cfg.intermediateSize()];
        seqOf = new int[n];
        qkvOut[0] = q;
        qkvOut[1] = k;
        qkvOut[2] = v;
        gateUpOut[0] = gate;
        gateUpOut[1] = up;
        capacity = n;
    }
}

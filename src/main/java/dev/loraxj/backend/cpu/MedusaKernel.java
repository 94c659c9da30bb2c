package dev.loraxj.backend.cpu;

import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.model.ModelConfig;

/**
 * Medusa heads on the hidden states of several rows at once: the ResBlocks
 * ({@code h + SiLU(W0 h + b0)}) and then either each head's own lm_head (v1) or the base model's
 * (v2). Parallel over output rows, so each head's weights are read once per step for every sequence,
 * as the base matmul does; every output is one dot product in a fixed order.
 */
final class MedusaKernel {

    private final ModelConfig cfg;
    private final LlamaForward forward;
    private final Parallel pool;
    private float[] h = new float[0]; // [heads][rows][d]
    private float[] z = new float[0]; // [rows][d]

    MedusaKernel(ModelConfig cfg, LlamaForward forward, Parallel pool) {
        this.cfg = cfg;
        this.forward = forward;
        this.pool = pool;
    }

    /** {@code out[(head * rows + r) * vocab + v]} for the rows {@code x[r * d]}, r < rows. */
    void apply(MedusaHeads m, float[] x, int rows, float[] out) {
        int d = cfg.hiddenSize();
        int vocab = cfg.vocabSize();
        if (m.hidden() != d) {
            throw new IllegalArgumentException("Medusa heads for hidden size " + m.hidden() + ", model has " + d);
        }
        int heads = m.numHeads();
        if (h.length < heads * rows * d) {
            h = new float[heads * rows * d];
        }
        if (z.length < rows * d) {
            z = new float[rows * d];
        }
        for (int i = 0; i < heads; i++) {
            int hi = i * rows * d;
            System.arraycopy(x, 0, h, hi, rows * d);
            for (int l = 0; l < m.numLayers(); l++) {
                float[] w = m.resWeights()[i][l];
                float[] b = m.resBiases()[i][l];
                pool.forRange(d, 1, (from, to, worker) -> {
                    for (int o = from; o < to; o++) {
                        for (int r = 0; r < rows; r++) {
                            float s = Vec.dot(h, hi + r * d, w, o * d, d) + b[o];
                            z[r * d + o] = s / (1f + (float) Math.exp(-s));
                        }
                    }
                });
                Vec.add(h, hi, z, 0, rows * d);
            }
            if (m.version() == 1) {
                float[] w = m.heads()[i];
                int oi = i * rows * vocab;
                pool.forRange(vocab, 16, (from, to, worker) -> {
                    for (int v = from; v < to; v++) {
                        for (int r = 0; r < rows; r++) {
                            out[oi + r * vocab + v] = Vec.dot(h, hi + r * d, w, v * d, d);
                        }
                    }
                });
            }
        }
        if (m.version() == 2) {
            forward.head(h, heads * rows, out);
        }
    }
}

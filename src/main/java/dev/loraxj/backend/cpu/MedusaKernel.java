package dev.loraxj.backend.cpu;

import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.model.ModelConfig;

/**
 * Medusa heads on one hidden state: the ResBlocks ({@code h + SiLU(W0 h + b0)}) and then either
 * each head's own lm_head (v1) or the base model's (v2). One row at a time: the heads' work is a few
 * matrix-vector products per sequence, next to the base forward's.
 */
final class MedusaKernel {

    private final ModelConfig cfg;
    private final LlamaForward forward;
    private float[] h = new float[0];
    private float[] z = new float[0];

    MedusaKernel(ModelConfig cfg, LlamaForward forward) {
        this.cfg = cfg;
        this.forward = forward;
    }

    void apply(MedusaHeads m, float[] x, int xOff, float[] out) {
        int d = cfg.hiddenSize();
        int vocab = cfg.vocabSize();
        if (m.hidden() != d) {
            throw new IllegalArgumentException("Medusa heads for hidden size " + m.hidden() + ", model has " + d);
        }
        if (h.length < m.numHeads() * d) {
            h = new float[m.numHeads() * d];
            z = new float[d];
        }
        for (int i = 0; i < m.numHeads(); i++) {
            int ho = i * d;
            System.arraycopy(x, xOff, h, ho, d);
            for (int l = 0; l < m.numLayers(); l++) {
                float[] w = m.resWeights()[i][l];
                float[] b = m.resBiases()[i][l];
                for (int r = 0; r < d; r++) {
                    float s = Vec.dot(h, ho, w, r * d, d) + b[r];
                    z[r] = s / (1f + (float) Math.exp(-s));
                }
                for (int r = 0; r < d; r++) {
                    h[ho + r] += z[r];
                }
            }
            if (m.version() == 1) {
                float[] w = m.heads()[i];
                for (int v = 0; v < vocab; v++) {
                    out[i * vocab + v] = Vec.dot(h, ho, w, v * d, d);
                }
            }
        }
        if (m.version() == 2) {
            forward.head(h, m.numHeads(), out);
        }
    }
}

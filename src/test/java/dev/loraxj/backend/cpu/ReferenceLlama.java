package dev.loraxj.backend.cpu;

import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.Tensor;

/**
 * A naive double-precision Llama forward over a whole sequence, straight from the HF definitions.
 * It reads the checkpoint's weights as stored (bf16/f16 values widened exactly), so it is the
 * reference for the same rounded weights the backend sees.
 */
final class ReferenceLlama {

    private final ModelConfig cfg;
    private final Checkpoint ckpt;
    private final ReferenceLora lora;
    private boolean bf16Kv;

    ReferenceLlama(Checkpoint ckpt, ModelConfig cfg) {
        this(ckpt, cfg, null);
    }

    /** With a PEFT LoRA adapter applied to the linears it targets (null for none). */
    ReferenceLlama(Checkpoint ckpt, ModelConfig cfg, ReferenceLora lora) {
        this.ckpt = ckpt;
        this.cfg = cfg;
        this.lora = lora;
    }

    /** Rounds K (after RoPE) and V to bfloat16 as a bfloat16 KV cache stores them. */
    ReferenceLlama withBf16Kv() {
        bf16Kv = true;
        return this;
    }

    /** x to 8 significant bits, ties to even: done on the double itself (not via float bits), as an independent check. */
    static double toBf16(double x) {
        if (x == 0 || Double.isNaN(x) || Double.isInfinite(x)) {
            return x;
        }
        double scale = Math.scalb(1.0, 7 - Math.getExponent(x));
        return Math.rint(x * scale) / scale;
    }

    /** Logits {@code [n, vocab]} after each token of {@code tokens} at positions 0..n-1. */
    double[][] logits(int[] tokens) {
        int n = tokens.length;
        int h = cfg.hiddenSize();
        int hd = cfg.headDim();
        int nh = cfg.numHeads();
        int group = nh / cfg.numKvHeads();
        double[][] x = new double[n][];
        Tensor emb = ckpt.tensor("model.embed_tokens.weight");
        for (int t = 0; t < n; t++) {
            x[t] = row(emb, tokens[t]);
        }
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[][] xn = norm(x, p + "input_layernorm.weight");
            double[][] q = linear(xn, p + "self_attn.q_proj", cfg.attentionBias());
            double[][] k = linear(xn, p + "self_attn.k_proj", cfg.attentionBias());
            double[][] v = linear(xn, p + "self_attn.v_proj", cfg.attentionBias());
            for (int t = 0; t < n; t++) {
                rope(q[t], nh, t);
                rope(k[t], cfg.numKvHeads(), t);
                if (bf16Kv) {
                    for (int i = 0; i < k[t].length; i++) {
                        k[t][i] = toBf16((float) k[t][i]);
                        v[t][i] = toBf16((float) v[t][i]);
                    }
                }
            }
            double[][] att = new double[n][cfg.qDim()];
            for (int t = 0; t < n; t++) {
                int lo = cfg.slidingWindow() > 0 ? Math.max(0, t - cfg.slidingWindow() + 1) : 0;
                for (int head = 0; head < nh; head++) {
                    int kvo = (head / group) * hd;
                    double[] s = new double[t - lo + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = lo; j <= t; j++) {
                        double d = 0;
                        for (int i = 0; i < hd; i++) {
                            d += q[t][head * hd + i] * k[j][kvo + i];
                        }
                        s[j - lo] = d / Math.sqrt(hd);
                        max = Math.max(max, s[j - lo]);
                    }
                    double sum = 0;
                    for (int j = 0; j < s.length; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = lo; j <= t; j++) {
                        for (int i = 0; i < hd; i++) {
                            att[t][head * hd + i] += s[j - lo] / sum * v[j][kvo + i];
                        }
                    }
                }
            }
            add(x, linear(att, p + "self_attn.o_proj", cfg.oProjBias()));
            xn = norm(x, p + "post_attention_layernorm.weight");
            double[][] g = linear(xn, p + "mlp.gate_proj", cfg.mlpBias());
            double[][] u = linear(xn, p + "mlp.up_proj", cfg.mlpBias());
            for (int t = 0; t < n; t++) {
                for (int i = 0; i < g[t].length; i++) {
                    g[t][i] = g[t][i] / (1 + Math.exp(-g[t][i])) * u[t][i];
                }
            }
            add(x, linear(g, p + "mlp.down_proj", cfg.mlpBias()));
        }
        double[][] xn = norm(x, "model.norm.weight");
        Tensor head = cfg.tieWordEmbeddings() ? emb : ckpt.tensor("lm_head.weight");
        return matmul(xn, head, null);
    }

    private void rope(double[] x, int heads, int pos) {
        int hd = cfg.headDim();
        int half = hd / 2;
        for (int hh = 0; hh < heads; hh++) {
            for (int i = 0; i < half; i++) {
                double angle = pos * (double) cfg.ropeInvFreq()[i];
                double c = Math.cos(angle), s = Math.sin(angle);
                double x1 = x[hh * hd + i], x2 = x[hh * hd + i + half];
                x[hh * hd + i] = x1 * c - x2 * s;
                x[hh * hd + i + half] = x2 * c + x1 * s;
            }
        }
    }

    private double[][] norm(double[][] x, String weight) {
        Tensor w = ckpt.tensor(weight);
        double[][] out = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            double ss = 0;
            for (double v : x[t]) {
                ss += v * v;
            }
            double inv = 1 / Math.sqrt(ss / x[t].length + cfg.rmsNormEps());
            out[t] = new double[x[t].length];
            for (int i = 0; i < x[t].length; i++) {
                out[t][i] = x[t][i] * inv * w.getFloat(i);
            }
        }
        return out;
    }

    private double[][] linear(double[][] x, String base, boolean bias) {
        double[][] y = matmul(x, ckpt.tensor(base + ".weight"), bias ? ckpt.tensor(base + ".bias") : null);
        if (lora != null) {
            lora.addTo(base, x, y);
        }
        return y;
    }

    static double[][] matmul(double[][] x, Tensor w, Tensor bias) {
        int rows = w.dim(0);
        int cols = w.dim(1);
        double[][] out = new double[x.length][rows];
        double[] wr = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                wr[c] = w.getFloat((long) r * cols + c);
            }
            for (int t = 0; t < x.length; t++) {
                double s = 0;
                for (int c = 0; c < cols; c++) {
                    s += x[t][c] * wr[c];
                }
                out[t][r] = s + (bias == null ? 0 : bias.getFloat(r));
            }
        }
        return out;
    }

    private static double[] row(Tensor emb, int token) {
        int h = emb.dim(1);
        double[] out = new double[h];
        for (int i = 0; i < h; i++) {
            out[i] = emb.getFloat((long) token * h + i);
        }
        return out;
    }

    private static void add(double[][] x, double[][] y) {
        for (int t = 0; t < x.length; t++) {
            for (int i = 0; i < x[t].length; i++) {
                x[t][i] += y[t][i];
            }
        }
    }
}

package dev.loraxj.backend.cpu;

import dev.loraxj.backend.LinearModule;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.ModelException;
import dev.loraxj.model.PreQuantized;
import dev.loraxj.model.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The weights of a Llama-family model in HF tensor names, checked against the config. F32 and BF16
 * matrices stay in the mmap'd checkpoint; F16 ones are widened once to F32 (no F16 kernel). The linears of a
 * GPTQ or AWQ checkpoint are read into the uint4 layout ({@link PackedInt4}); those it left unquantized load as above.
 */
final class LlamaWeights implements AutoCloseable {

    private static final ValueLayout.OfShort I16 = Matmul.I16;

    final MemorySegment embed;
    final DType embedType;
    final LayerWeights[] layers;
    final float[] finalNorm;
    final Linear lmHead;
    private final int hidden;
    private final Arena arena;

    private final DType sourceDtype;
    private final PreQuantized preQuantized;

    private LlamaWeights(MemorySegment embed, DType embedType, LayerWeights[] layers, float[] finalNorm, Linear lmHead,
                         int hidden, Arena arena, DType sourceDtype, PreQuantized preQuantized) {
        this.sourceDtype = sourceDtype;
        this.preQuantized = preQuantized;
        this.embed = embed;
        this.embedType = embedType;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.hidden = hidden;
        this.arena = arena;
    }

    static LlamaWeights load(Checkpoint ckpt, ModelConfig cfg) {
        return load(ckpt, cfg, null);
    }

    /** With {@code quantize} (null: none; {@link DType#I8} or {@link DType#I4}) applied to the seven linears of every block and the head at load. */
    static LlamaWeights load(Checkpoint ckpt, ModelConfig cfg, DType quantize) {
        return load(ckpt, cfg, quantize, true);
    }

    /** As above; {@code head} false keeps the output head in the checkpoint's dtype. */
    static LlamaWeights load(Checkpoint ckpt, ModelConfig cfg, DType quantize, boolean head) {
        if (quantize != null && quantize != DType.I8 && quantize != DType.I4) {
            throw new IllegalArgumentException("quantization to " + quantize.torchName() + " is not supported (int8 and int4 are)");
        }
        PreQuantized pre = PreQuantized.load(ckpt.dir()).orElse(null);
        if (pre != null && quantize != null) {
            throw new ModelException("loraxj.quantize=" + quantize.torchName() + " cannot apply to a " + pre.method().label()
                    + " checkpoint, whose linears are quantized already: set loraxj.quantize=none");
        }
        Arena arena = Arena.ofShared();
        try {
            return new Loader(ckpt, cfg, arena, quantize, head, pre == null ? null : new PackedInt4(ckpt, pre, arena), pre).load();
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Copies the embedding row of {@code token} into {@code out[off..off+hidden)}. */
    void embed(int token, float[] out, int off) {
        long row = (long) token * hidden;
        if (embedType == DType.BF16) {
            for (int i = 0; i < hidden; i++) {
                out[off + i] = DType.bf16ToFloat(embed.getAtIndex(I16, row + i));
            }
        } else {
            MemorySegment.copy(embed, Matmul.F32, row * Float.BYTES, out, off, hidden);
        }
    }

    /** Bytes of weights a decode step streams per token: every linear plus the output head. */
    long weightBytesPerToken() {
        long sum = lmHead.weightBytes();
        for (LayerWeights l : layers) {
            sum += l.weightBytes();
        }
        return sum;
    }

    /** The checkpoint's dtype (what the linears were quantized from, if they were). */
    DType dtype() {
        return sourceDtype;
    }

    /** The dtype the block linears are held in: the checkpoint's, int8 or int4, or uint4 for GPTQ and AWQ. */
    DType linearDtype() {
        return layers[0].q().dtype();
    }

    /** What the block linears are held as, in loraxj.quantize's words: the checkpoint's dtype, "int8", "int4", or "gptq", "awq". */
    String linearLabel() {
        return preQuantized != null ? preQuantized.method().label() : linearDtype().torchName();
    }

    @Override
    public void close() {
        arena.close();
    }

    /** {@code packed} and {@code pre} are null unless the checkpoint is GPTQ or AWQ. */
    private record Loader(Checkpoint ckpt, ModelConfig cfg, Arena arena, DType quantize, boolean quantizeHead, PackedInt4 packed,
                          PreQuantized pre) {

        LlamaWeights load() {
            int h = cfg.hiddenSize();
            int ffn = cfg.intermediateSize();
            int q = cfg.qDim();
            int kv = cfg.kvDim();
            Tensor embedT = ckpt.tensor("model.embed_tokens.weight", cfg.vocabSize(), h);
            MemorySegment embed = widenF16(embedT);
            DType embedType = embedT.dtype() == DType.BF16 ? DType.BF16 : DType.F32;
            LayerWeights[] layers = new LayerWeights[cfg.numLayers()];
            for (int l = 0; l < layers.length; l++) {
                String p = "model.layers." + l + ".";
                layers[l] = new LayerWeights(
                        vector(p + "input_layernorm.weight", h),
                        linear(LinearModule.Q, l, q, h, cfg.attentionBias()),
                        linear(LinearModule.K, l, kv, h, cfg.attentionBias()),
                        linear(LinearModule.V, l, kv, h, cfg.attentionBias()),
                        linear(LinearModule.O, l, h, q, cfg.oProjBias()),
                        vector(p + "post_attention_layernorm.weight", h),
                        linear(LinearModule.GATE, l, ffn, h, cfg.mlpBias()),
                        linear(LinearModule.UP, l, ffn, h, cfg.mlpBias()),
                        linear(LinearModule.DOWN, l, h, ffn, cfg.mlpBias()));
            }
            float[] norm = vector("model.norm.weight", h);
            Linear head;
            if (cfg.tieWordEmbeddings()) {
                head = new Linear(LinearModule.LM_HEAD, -1, embed, embedType, cfg.vocabSize(), h, null);
            } else if (packed != null && packed.holds("lm_head")) { // GPTQModel's lm_head=true
                head = packed.read(LinearModule.LM_HEAD, -1, "lm_head", cfg.vocabSize(), h, null);
            } else {
                head = matrix(LinearModule.LM_HEAD, -1, "lm_head.weight", cfg.vocabSize(), h, null);
            }
            if (quantize != null && quantizeHead) {
                head = quantized(head); // a tied head gets its own quantized copy; the embeddings stay for lookups
            }
            if (packed != null && packed.count() == 0) {
                throw new ModelException(ckpt.dir() + ": config.json declares " + pre.method().label()
                        + " quantization, but no linear has a qweight tensor");
            }
            // what the linears are held in before any quantization (F16 is widened to F32 at load); a GPTQ or AWQ checkpoint's dense tensors
            String q0 = "model.layers.0." + LinearModule.Q.path() + ".weight";
            DType held = ckpt.find(q0).map(Tensor::dtype).orElse(embedT.dtype());
            DType source = held == DType.BF16 ? DType.BF16 : DType.F32;
            return new LlamaWeights(embed, embedType, layers, norm, head, h, arena, source, pre);
        }

        private Linear linear(LinearModule m, int layer, int rows, int cols, boolean hasBias) {
            String base = "model.layers." + layer + "." + m.path();
            float[] bias = hasBias ? vector(base + ".bias", rows) : null;
            if (packed != null && packed.holds(base)) {
                return packed.read(m, layer, base, rows, cols, bias);
            }
            Linear w = matrix(m, layer, base + ".weight", rows, cols, bias);
            return quantize == null ? w : quantized(w);
        }

        private Linear quantized(Linear w) {
            return switch (quantize) {
                case I8 -> I8Tiles.quantize(w, arena);
                case I4 -> I4Tiles.quantize(w, arena);
                default -> throw new IllegalStateException("no quantizer for " + quantize);
            };
        }

        private Linear matrix(LinearModule m, int layer, String name, int rows, int cols, float[] bias) {
            Tensor t = ckpt.tensor(name, rows, cols);
            DType kept = t.dtype() == DType.BF16 ? DType.BF16 : DType.F32;
            return new Linear(m, layer, widenF16(t), kept, rows, cols, bias);
        }

        private float[] vector(String name, int n) {
            return ckpt.tensor(name, n).toFloats();
        }

        /** The tensor's bytes in place, or for F16 a one-time F32 copy (the kernels read F32 and BF16 only). */
        private MemorySegment widenF16(Tensor t) {
            if (t.dtype() != DType.F16) {
                return t.data();
            }
            long n = t.numel();
            MemorySegment out = arena.allocate(n * Float.BYTES, 64);
            for (long i = 0; i < n; i++) {
                out.setAtIndex(Matmul.F32, i, Float.float16ToFloat(t.data().getAtIndex(I16, i)));
            }
            return out;
        }
    }
}

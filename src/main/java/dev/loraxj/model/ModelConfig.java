package dev.loraxj.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The architecture of a Llama-family model, read from config.json. Covers {@code llama},
 * {@code mistral} and {@code qwen2}.
 *
 * @param attentionBias q/k/v (and, for Llama with attention_bias, o) projections carry a bias
 * @param oProjBias     o_proj carries a bias (Llama attention_bias; never Qwen2)
 * @param mlpBias       gate/up/down carry a bias (Llama mlp_bias)
 * @param slidingWindow 0 when attention sees the whole context
 * @param ropeInvFreq   per-pair inverse frequencies (head_dim/2 values), rope_scaling applied
 */
public record ModelConfig(
        String modelType,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        int maxPositionEmbeddings,
        float rmsNormEps,
        double ropeTheta,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean oProjBias,
        boolean mlpBias,
        int slidingWindow,
        String torchDtype,
        int bosTokenId,
        List<Integer> eosTokenIds,
        float[] ropeInvFreq) {

    private static final Set<String> TYPES = Set.of("llama", "mistral", "qwen2");
    private static final ObjectMapper JSON = new ObjectMapper();

    public static ModelConfig load(Path dir) {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new ModelException("model directory " + dir + " has no config.json");
        }
        try {
            return parse(JSON.readTree(file.toFile()));
        } catch (IOException e) {
            throw new ModelException("cannot parse " + file + ": " + e.getMessage(), e);
        }
    }

    public static ModelConfig parse(JsonNode c) {
        String type = c.path("model_type").asText("");
        if (!TYPES.contains(type)) {
            throw new ModelException("unsupported model_type '" + type + "' (supported: llama, mistral, qwen2)");
        }
        String act = c.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new ModelException("unsupported hidden_act '" + act + "' (only silu)");
        }
        int hidden = required(c, "hidden_size");
        int heads = required(c, "num_attention_heads");
        int kvHeads = c.path("num_key_value_heads").asInt(heads);
        int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
        if (heads % kvHeads != 0) {
            throw new ModelException("num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        if (headDim % 2 != 0) {
            throw new ModelException("head_dim " + headDim + " must be even for RoPE");
        }
        boolean qwen = type.equals("qwen2");
        boolean llamaBias = c.path("attention_bias").asBoolean(false);
        boolean attnBias = qwen || llamaBias;
        boolean oBias = !qwen && llamaBias;
        boolean mlpBias = c.path("mlp_bias").asBoolean(false);
        int window = 0;
        if (c.hasNonNull("sliding_window") && (!qwen || c.path("use_sliding_window").asBoolean(false))) {
            window = c.get("sliding_window").asInt(0);
        }
        double theta = c.path("rope_theta").asDouble(10000.0);
        int maxPos = c.path("max_position_embeddings").asInt(2048);
        float[] invFreq = ropeInvFreq(headDim, theta, c.path("rope_scaling"), maxPos);
        List<Integer> eos = new ArrayList<>();
        JsonNode eosNode = c.path("eos_token_id");
        if (eosNode.isArray()) {
            eosNode.forEach(n -> eos.add(n.asInt()));
        } else if (eosNode.isNumber()) {
            eos.add(eosNode.asInt());
        }
        return new ModelConfig(type, hidden, required(c, "intermediate_size"), required(c, "num_hidden_layers"),
                heads, kvHeads, headDim, required(c, "vocab_size"), maxPos,
                (float) c.path("rms_norm_eps").asDouble(1e-6), theta,
                c.path("tie_word_embeddings").asBoolean(false), attnBias, oBias, mlpBias, window,
                c.path("torch_dtype").asText("float32"), c.path("bos_token_id").asInt(-1), List.copyOf(eos), invFreq);
    }

    /** Inverse RoPE frequencies with HF's rope_scaling types {@code linear} and {@code llama3}. */
    static float[] ropeInvFreq(int headDim, double theta, JsonNode scaling, int maxPos) {
        int half = headDim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
        }
        if (scaling != null && scaling.isObject() && !scaling.isEmpty()) {
            String kind = scaling.hasNonNull("rope_type") ? scaling.get("rope_type").asText() : scaling.path("type").asText("");
            double factor = scaling.path("factor").asDouble(1.0);
            switch (kind) {
                case "default" -> { }
                case "linear" -> {
                    for (int i = 0; i < half; i++) {
                        inv[i] /= factor;
                    }
                }
                case "llama3" -> {
                    double low = scaling.path("low_freq_factor").asDouble(1.0);
                    double high = scaling.path("high_freq_factor").asDouble(4.0);
                    double orig = scaling.path("original_max_position_embeddings").asDouble(8192);
                    double lowWavelen = orig / low;
                    double highWavelen = orig / high;
                    for (int i = 0; i < half; i++) {
                        double wavelen = 2 * Math.PI / inv[i];
                        if (wavelen > lowWavelen) {
                            inv[i] /= factor;
                        } else if (wavelen >= highWavelen) {
                            double smooth = (orig / wavelen - low) / (high - low);
                            inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                        }
                    }
                }
                default -> throw new ModelException("unsupported rope_scaling type '" + kind
                        + "' (supported: linear, llama3)");
            }
        }
        float[] out = new float[half];
        for (int i = 0; i < half; i++) {
            out[i] = (float) inv[i];
        }
        return out;
    }

    private static int required(JsonNode c, String field) {
        JsonNode n = c.get(field);
        if (n == null || !n.canConvertToInt() || n.asInt() <= 0) {
            throw new ModelException("config.json: missing or invalid " + field);
        }
        return n.asInt();
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    public int qDim() {
        return numHeads * headDim;
    }
}

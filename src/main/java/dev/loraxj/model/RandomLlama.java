package dev.loraxj.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Writes a random-weight Llama-family model in HF layout (config.json + model.safetensors) for
 * benchmarks and tests. Tensors are generated and streamed to disk one chunk at a time, so a 110m
 * model never sits in the heap. Weights are uniform with std 0.02 and norms near 1, so activations
 * stay finite; the same seed gives the same bytes.
 */
public final class RandomLlama {

    /** The metadata key recording what generated the file; lets a caller reuse a written model. */
    public static final String METADATA_KEY = "loraxj.random";

    /** An architecture to generate. {@code slidingWindow} 0 means none. */
    public record Shape(String modelType, int hidden, int ffn, int layers, int heads, int kvHeads, int headDim,
                        int vocab, boolean tied, boolean attentionBias, boolean mlpBias, int slidingWindow) {

        public Shape withModelType(String type) {
            return new Shape(type, hidden, ffn, layers, heads, kvHeads, headDim, vocab, tied, attentionBias, mlpBias, slidingWindow);
        }

        public Shape withBiases(boolean attention, boolean mlp) {
            return new Shape(modelType, hidden, ffn, layers, heads, kvHeads, headDim, vocab, tied, attention, mlp, slidingWindow);
        }

        public Shape withSlidingWindow(int window) {
            return new Shape(modelType, hidden, ffn, layers, heads, kvHeads, headDim, vocab, tied, attentionBias, mlpBias, window);
        }
    }

    private record Spec(String name, long[] shape, Fill fill) {
        long numel() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private enum Fill { WEIGHT, NORM, BIAS }

    private static final double STD = 0.02;

    private RandomLlama() {
    }

    /** {@code tiny}: stories260K's shape; {@code 110m}: a Llama-2-style 110M model (stories110M's shape). */
    public static Shape shape(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "tiny" -> new Shape("llama", 64, 172, 5, 8, 4, 8, 512, true, false, false, 0);
            case "110m" -> new Shape("llama", 768, 2048, 12, 12, 12, 64, 32000, false, false, false, 0);
            default -> throw new ModelException("unknown model shape '" + name + "' (use tiny or 110m)");
        };
    }

    public static void write(Path dir, String shape, DType dtype, long seed) {
        write(dir, shape(shape), dtype, seed, shape.toLowerCase(Locale.ROOT));
    }

    public static void write(Path dir, Shape shape, DType dtype, long seed) {
        write(dir, shape, dtype, seed, "custom");
    }

    /** The metadata value {@link #write} records for a named shape, dtype and seed. */
    public static String fingerprint(String shape, DType dtype, long seed) {
        return shape.toLowerCase(Locale.ROOT) + "/" + dtype + "/" + seed;
    }

    private static void write(Path dir, Shape s, DType dtype, long seed, String shapeName) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), config(s, dtype));
            writeTensors(dir.resolve("model.safetensors"), specs(s), dtype, seed, fingerprint(shapeName, dtype, seed));
        } catch (IOException e) {
            throw new ModelException("cannot write a random model to " + dir + ": " + e.getMessage(), e);
        }
    }

    private static String config(Shape s, DType dtype) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.putArray("architectures").add(switch (s.modelType()) {
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            default -> "LlamaForCausalLM";
        });
        c.put("model_type", s.modelType());
        c.put("hidden_size", s.hidden());
        c.put("intermediate_size", s.ffn());
        c.put("num_hidden_layers", s.layers());
        c.put("num_attention_heads", s.heads());
        c.put("num_key_value_heads", s.kvHeads());
        c.put("head_dim", s.headDim());
        c.put("vocab_size", s.vocab());
        c.put("max_position_embeddings", 2048);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("hidden_act", "silu");
        c.put("tie_word_embeddings", s.tied());
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", dtype.torchName());
        if (!s.modelType().equals("qwen2")) {
            c.put("attention_bias", s.attentionBias());
            c.put("mlp_bias", s.mlpBias());
        }
        if (s.slidingWindow() > 0) {
            c.put("sliding_window", s.slidingWindow());
            if (s.modelType().equals("qwen2")) {
                c.put("use_sliding_window", true);
            }
        }
        return json.writerWithDefaultPrettyPrinter().writeValueAsString(c);
    }

    private static List<Spec> specs(Shape s) {
        boolean qwen = s.modelType().equals("qwen2");
        boolean qkvBias = qwen || s.attentionBias();
        boolean oBias = !qwen && s.attentionBias();
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        int h = s.hidden();
        List<Spec> out = new ArrayList<>();
        out.add(new Spec("model.embed_tokens.weight", new long[] {s.vocab(), h}, Fill.WEIGHT));
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            out.add(new Spec(p + "input_layernorm.weight", new long[] {h}, Fill.NORM));
            linear(out, p + "self_attn.q_proj", q, h, qkvBias);
            linear(out, p + "self_attn.k_proj", kv, h, qkvBias);
            linear(out, p + "self_attn.v_proj", kv, h, qkvBias);
            linear(out, p + "self_attn.o_proj", h, q, oBias);
            out.add(new Spec(p + "post_attention_layernorm.weight", new long[] {h}, Fill.NORM));
            linear(out, p + "mlp.gate_proj", s.ffn(), h, s.mlpBias());
            linear(out, p + "mlp.up_proj", s.ffn(), h, s.mlpBias());
            linear(out, p + "mlp.down_proj", h, s.ffn(), s.mlpBias());
        }
        out.add(new Spec("model.norm.weight", new long[] {h}, Fill.NORM));
        if (!s.tied()) {
            out.add(new Spec("lm_head.weight", new long[] {s.vocab(), h}, Fill.WEIGHT));
        }
        return out;
    }

    private static void linear(List<Spec> out, String base, int rows, int cols, boolean bias) {
        out.add(new Spec(base + ".weight", new long[] {rows, cols}, Fill.WEIGHT));
        if (bias) {
            out.add(new Spec(base + ".bias", new long[] {rows}, Fill.BIAS));
        }
    }

    private static void writeTensors(Path file, List<Spec> specs, DType dtype, long seed, String fingerprint) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        header.putObject("__metadata__").put("format", "pt").put(METADATA_KEY, fingerprint);
        long offset = 0;
        String code = dtype.safetensorsCode();
        for (Spec spec : specs) {
            ObjectNode info = header.putObject(spec.name());
            info.put("dtype", code);
            ArrayNode shape = info.putArray("shape");
            for (long d : spec.shape()) {
                shape.add(d);
            }
            long len = spec.numel() * dtype.bytes();
            info.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) & ~7;
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(headerBytes);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            writeFully(ch, head.flip());
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (Spec spec : specs) {
                SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + spec.name().hashCode());
                double a = STD * Math.sqrt(3.0);
                for (long i = 0, n = spec.numel(); i < n; i++) {
                    float v = switch (spec.fill()) {
                        case WEIGHT, BIAS -> (float) rnd.nextDouble(-a, a);
                        case NORM -> (float) (1.0 + rnd.nextDouble(-0.1, 0.1));
                    };
                    if (buf.remaining() < 4) {
                        writeFully(ch, buf.flip());
                        buf.clear();
                    }
                    switch (dtype) {
                        case F32 -> buf.putFloat(v);
                        case BF16 -> buf.putShort(DType.floatToBf16(v));
                        case F16 -> buf.putShort(Float.floatToFloat16(v));
                    }
                }
            }
            writeFully(ch, buf.flip());
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}

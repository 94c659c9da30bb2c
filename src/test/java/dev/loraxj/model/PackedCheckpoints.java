package dev.loraxj.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

/**
 * Test fixtures: quantizes an F32 model by GPTQ's or AWQ's own rules (round to nearest, per output and group, the
 * scale rounded to fp16 first, as the tools store it) and packs it by the formats' documented bit layouts, written
 * here from the layout descriptions and not from the loader: GPTQ {@code qweight [in/8, out]} with input {@code 8i + j}
 * in bits {@code 4j}, {@code qzeros [groups, out/8]} with output {@code 8c + j} in bits {@code 4j}, stored minus one in
 * v1; AWQ {@code qweight [in, out/8]} whose nibble i holds output {@code 8c + ORDER[i]}, ORDER = 0,2,4,6,1,3,5,7, and
 * {@code qzeros} likewise. Beside it goes the same model dequantized, {@code (q - z) * s} in F32, which is exact.
 */
public final class PackedCheckpoints {

    /** How to quantize. {@code groupSize} -1: one group per row; {@code descAct}: a shuffled act order with its g_idx. */
    public record Format(boolean awq, int groupSize, boolean sym, boolean descAct, boolean v2, boolean head) {

        public static Format gptq(int groupSize, boolean sym, boolean descAct) {
            return new Format(false, groupSize, sym, descAct, false, false);
        }

        public static Format awq(int groupSize) {
            return new Format(true, groupSize, false, false, false, false);
        }

        public Format gptqV2() {
            return new Format(awq, groupSize, sym, descAct, true, head);
        }

        /** Quantizes lm_head too (GPTQModel's lm_head=true). */
        public Format withHead() {
            return new Format(awq, groupSize, sym, descAct, v2, true);
        }
    }

    /** A small random Llama whose widths GPTQ packs (multiples of 8 and of the group sizes used), unlike stories260K's FFN of 172. */
    public static final RandomLlama.Shape SHAPE = new RandomLlama.Shape("llama", 64, 192, 2, 4, 2, 16, 512, false, false, false, 0);

    /** AutoAWQ's pack order: nibble i of a word holds output {@code 8c + ORDER[i]}. */
    public static final int[] AWQ_ORDER = {0, 2, 4, 6, 1, 3, 5, 7};

    private static final Pattern BLOCK_LINEAR = Pattern.compile("model\\.layers\\.\\d+\\.(self_attn|mlp)\\.\\w+_proj\\.weight");

    /** One quantized matrix: q and its dequantized value per weight, zero and scale per output and group, each input's group. */
    public record Quantized(int out, int in, int groups, int[][] q, int[][] zero, float[][] scale, int[] gIdx) {

        public float weight(int o, int k) {
            int g = gIdx[k];
            return (float) (q[o][k] - zero[o][g]) * scale[o][g];
        }
    }

    private PackedCheckpoints() {
    }

    /** Writes {@code quantized} (the packed checkpoint) and {@code dequantized} (its F32 twin) from the F32 model at {@code src}. */
    public static void write(Path src, Format f, long seed, Path quantized, Path dequantized) {
        ObjectMapper json = new ObjectMapper();
        try (Checkpoint ckpt = Checkpoint.open(src)) {
            Files.createDirectories(quantized);
            Files.createDirectories(dequantized);
            SafeTensorsWriter packed = new SafeTensorsWriter();
            SafeTensorsWriter plain = new SafeTensorsWriter();
            for (Tensor t : ckpt.tensors().values()) {
                String name = t.name();
                boolean linear = BLOCK_LINEAR.matcher(name).matches() || f.head() && name.equals("lm_head.weight");
                if (!linear) {
                    float[] v = t.toFloats();
                    for (int i = 0; i < v.length; i++) {
                        v[i] = Float.float16ToFloat(Float.floatToFloat16(v[i])); // what the fp16 checkpoint holds
                    }
                    packed.add(name, DType.F16, v, t.shape());
                    plain.add(name, DType.F32, v, t.shape());
                    continue;
                }
                int out = t.dim(0);
                int in = t.dim(1);
                Quantized q = quantize(t.toFloats(), out, in, f, new SplittableRandom(seed ^ name.hashCode()));
                String base = name.substring(0, name.length() - ".weight".length());
                pack(packed, base, q, f);
                float[] w = new float[out * in];
                for (int o = 0; o < out; o++) {
                    for (int k = 0; k < in; k++) {
                        w[o * in + k] = q.weight(o, k);
                    }
                }
                plain.add(name, DType.F32, w, out, in);
            }
            packed.write(quantized.resolve("model.safetensors"));
            plain.write(dequantized.resolve("model.safetensors"));
            ObjectNode config = (ObjectNode) json.readTree(src.resolve("config.json").toFile());
            config.put("torch_dtype", "float32");
            json.writerWithDefaultPrettyPrinter().writeValue(dequantized.resolve("config.json").toFile(), config);
            config.put("torch_dtype", "float16");
            config.set("quantization_config", quantizationConfig(json, f));
            json.writerWithDefaultPrettyPrinter().writeValue(quantized.resolve("config.json").toFile(), config);
            for (String file : new String[] {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "generation_config.json"}) {
                if (Files.isRegularFile(src.resolve(file))) {
                    Files.copy(src.resolve(file), quantized.resolve(file), StandardCopyOption.REPLACE_EXISTING);
                    Files.copy(src.resolve(file), dequantized.resolve(file), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ObjectNode quantizationConfig(ObjectMapper json, Format f) {
        ObjectNode q = json.createObjectNode();
        if (f.awq()) {
            q.put("quant_method", "awq").put("bits", 4).put("group_size", f.groupSize()).put("zero_point", true).put("version", "gemm");
        } else {
            q.put("quant_method", "gptq").put("bits", 4).put("group_size", f.groupSize()).put("desc_act", f.descAct())
                    .put("sym", f.sym()).put("true_sequential", true).put("damp_percent", 0.01).put("lm_head", f.head())
                    .put("checkpoint_format", f.v2() ? "gptq_v2" : "gptq");
        }
        return q;
    }

    /** Quantizes {@code w [out, in]} by the format's rules; act order shuffles which inputs form each group. */
    public static Quantized quantize(float[] w, int out, int in, Format f, SplittableRandom rnd) {
        int gs = f.groupSize() == -1 ? in : f.groupSize();
        int groups = in / gs;
        int[] gIdx = new int[in];
        int[] perm = new int[in];
        for (int k = 0; k < in; k++) {
            perm[k] = k;
        }
        if (f.descAct()) {
            for (int k = in - 1; k > 0; k--) {
                int j = rnd.nextInt(k + 1);
                int tmp = perm[k];
                perm[k] = perm[j];
                perm[j] = tmp;
            }
        }
        for (int j = 0; j < in; j++) {
            gIdx[perm[j]] = j / gs; // GPTQ's act order: groups are formed along the permuted order
        }
        int[][] q = new int[out][in];
        int[][] zero = new int[out][groups];
        float[][] scale = new float[out][groups];
        for (int o = 0; o < out; o++) {
            for (int g = 0; g < groups; g++) {
                float min = Float.POSITIVE_INFINITY;
                float max = Float.NEGATIVE_INFINITY;
                for (int k = 0; k < in; k++) {
                    if (gIdx[k] == g) {
                        min = Math.min(min, w[o * in + k]);
                        max = Math.max(max, w[o * in + k]);
                    }
                }
                double s;
                int z;
                if (f.awq()) { // AutoAWQ: the range as it is, zero = -round(min / s) clamped to [0, 15]
                    s = Math.max(max - min, 1e-5) / 15;
                    z = (int) Math.clamp(-Math.rint(min / s), 0, 15);
                } else { // GPTQ's Quantizer: the range widened to hold 0; symmetric about 0 with zero 8 when sym
                    double lo = Math.min(0, min);
                    double hi = Math.max(0, max);
                    if (f.sym()) {
                        hi = Math.max(-lo, hi);
                        lo = lo < 0 ? -hi : lo;
                    }
                    if (lo == 0 && hi == 0) {
                        lo = -1;
                        hi = 1;
                    }
                    s = (hi - lo) / 15;
                    z = f.sym() ? 8 : (int) Math.rint(-lo / s);
                }
                float stored = Float.float16ToFloat(Float.floatToFloat16((float) s));
                if (!f.awq() && !f.v2() && z == 0) {
                    throw new IllegalStateException("GPTQ v1 cannot store zero point 0 (it stores zero - 1); pick another seed");
                }
                zero[o][g] = z;
                scale[o][g] = stored;
                for (int k = 0; k < in; k++) {
                    if (gIdx[k] == g) {
                        q[o][k] = (int) Math.clamp(Math.rint(w[o * in + k] / stored) + z, 0, 15);
                    }
                }
            }
        }
        return new Quantized(out, in, groups, q, zero, scale, gIdx);
    }

    /** The packed tensors of {@code base} (qweight, qzeros, scales, and g_idx for GPTQ), by the documented layout. */
    public static void pack(SafeTensorsWriter st, String base, Quantized m, Format f) {
        int out = m.out();
        int in = m.in();
        int groups = m.groups();
        float[] scales = new float[groups * out];
        for (int g = 0; g < groups; g++) {
            for (int o = 0; o < out; o++) {
                scales[g * out + o] = m.scale()[o][g];
            }
        }
        int[] qzeros = new int[groups * (out / 8)];
        int[] qweight;
        if (f.awq()) {
            qweight = new int[in * (out / 8)];
            for (int k = 0; k < in; k++) {
                for (int c = 0; c < out / 8; c++) {
                    for (int i = 0; i < 8; i++) {
                        qweight[k * (out / 8) + c] |= m.q()[8 * c + AWQ_ORDER[i]][k] << (4 * i);
                    }
                }
            }
            for (int g = 0; g < groups; g++) {
                for (int c = 0; c < out / 8; c++) {
                    for (int i = 0; i < 8; i++) {
                        qzeros[g * (out / 8) + c] |= m.zero()[8 * c + AWQ_ORDER[i]][g] << (4 * i);
                    }
                }
            }
            st.addInts(base + ".qweight", qweight, in, out / 8);
        } else {
            qweight = new int[(in / 8) * out];
            for (int i = 0; i < in / 8; i++) {
                for (int o = 0; o < out; o++) {
                    for (int j = 0; j < 8; j++) {
                        qweight[i * out + o] |= m.q()[o][8 * i + j] << (4 * j);
                    }
                }
            }
            for (int g = 0; g < groups; g++) {
                for (int c = 0; c < out / 8; c++) {
                    for (int j = 0; j < 8; j++) {
                        int stored = f.v2() ? m.zero()[8 * c + j][g] : m.zero()[8 * c + j][g] - 1;
                        qzeros[g * (out / 8) + c] |= (stored & 0x0F) << (4 * j);
                    }
                }
            }
            st.addInts(base + ".qweight", qweight, in / 8, out);
            st.addInts(base + ".g_idx", m.gIdx(), in);
        }
        st.addInts(base + ".qzeros", qzeros, groups, out / 8);
        st.add(base + ".scales", DType.F16, scales, groups, out);
    }
}

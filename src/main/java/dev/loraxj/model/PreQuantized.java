package dev.loraxj.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * A checkpoint whose linears were quantized before it was saved, as config.json's {@code quantization_config} declares it
 * (or, for older AutoGPTQ checkpoints, {@code quantize_config.json}): GPTQ, or AWQ in its GEMM layout, 4 bits with a scale
 * and a zero point per output and group of inputs. What is not supported is refused here, naming the field.
 *
 * @param groupSize    inputs per scale and zero point; -1 for one group over the whole input
 * @param descAct      GPTQ's act order: {@code g_idx} assigns input channels to groups out of order
 * @param sym          GPTQ's symmetric quantization (every zero point 8); the zero points are read from {@code qzeros} either way
 * @param zeroMinusOne each stored zero point is the real one minus one (AutoGPTQ's v1 {@code checkpoint_format: gptq})
 */
public record PreQuantized(Method method, int groupSize, boolean descAct, boolean sym, boolean zeroMinusOne) {

    public enum Method {
        GPTQ, AWQ;

        /** The name config.json and {@code /info} use: "gptq", "awq". */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The quantization the model directory declares, if any. */
    public static Optional<PreQuantized> load(Path dir) {
        try {
            Path config = dir.resolve("config.json");
            if (Files.isRegularFile(config)) {
                Optional<PreQuantized> q = parse(JSON.readTree(config.toFile()));
                if (q.isPresent()) {
                    return q;
                }
            }
            Path autoGptq = dir.resolve("quantize_config.json"); // AutoGPTQ before transformers wrote quantization_config
            if (Files.isRegularFile(autoGptq)) {
                return Optional.of(quantization(JSON.readTree(autoGptq.toFile()), "quantize_config.json", "gptq"));
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new ModelException("cannot parse the quantization config of " + dir + ": " + e.getMessage(), e);
        }
    }

    /** config.json's {@code quantization_config}, if it has one. */
    public static Optional<PreQuantized> parse(JsonNode config) {
        JsonNode q = config.path("quantization_config");
        if (q.isMissingNode() || q.isNull()) {
            return Optional.empty();
        }
        if (!q.isObject()) {
            throw new ModelException("config.json quantization_config must be an object");
        }
        return Optional.of(quantization(q, "config.json quantization_config", null));
    }

    private static PreQuantized quantization(JsonNode q, String where, String defaultMethod) {
        String method = q.path("quant_method").asText(defaultMethod == null ? "" : defaultMethod).toLowerCase(Locale.ROOT);
        return switch (method) {
            case "gptq" -> gptq(q, where);
            case "awq" -> awq(q, where);
            case "" -> throw new ModelException(where + " has no quant_method (supported: gptq, awq)");
            default -> throw new ModelException(where + ".quant_method " + method + " is not supported (gptq and awq are)");
        };
    }

    private static PreQuantized gptq(JsonNode q, String where) {
        bits(q, where, "bits");
        int group = groupSize(q, where, "group_size");
        if (q.path("is_marlin_format").asBoolean(false)) {
            throw new ModelException(where + ".is_marlin_format is true: Marlin-repacked GPTQ checkpoints are not supported (gptq and gptq_v2 are)");
        }
        String format = q.path("checkpoint_format").asText(q.path("format").asText("gptq")).toLowerCase(Locale.ROOT);
        boolean minusOne = switch (format) {
            case "gptq" -> true;
            case "gptq_v2" -> false;
            default -> throw new ModelException(where + ".checkpoint_format " + format + " is not supported (gptq and gptq_v2 are)");
        };
        return new PreQuantized(Method.GPTQ, group, q.path("desc_act").asBoolean(false), q.path("sym").asBoolean(true), minusOne);
    }

    private static PreQuantized awq(JsonNode q, String where) {
        bits(q, where, q.has("bits") ? "bits" : "w_bit");
        int group = groupSize(q, where, q.has("group_size") ? "group_size" : "q_group_size");
        String version = q.path("version").asText("gemm").toLowerCase(Locale.ROOT);
        if (!version.equals("gemm")) {
            throw new ModelException(where + ".version " + version + " is not supported (AWQ's GEMM layout is)");
        }
        if (!q.path("zero_point").asBoolean(true)) {
            throw new ModelException(where + ".zero_point false is not supported (AWQ GEMM checkpoints with zero points are)");
        }
        return new PreQuantized(Method.AWQ, group, false, false, false);
    }

    private static void bits(JsonNode q, String where, String field) {
        JsonNode b = q.get(field);
        if (b == null || !b.canConvertToInt()) {
            throw new ModelException(where + " has no " + field);
        }
        if (b.asInt() != 4) {
            throw new ModelException(where + "." + field + " " + b.asInt() + " is not supported (4-bit only)");
        }
    }

    /** -1, or a positive multiple of 16: every vector of the kernels then lies within one group at any width the CPU has. */
    private static int groupSize(JsonNode q, String where, String field) {
        JsonNode g = q.get(field);
        if (g == null || !g.canConvertToInt()) {
            throw new ModelException(where + " has no " + field);
        }
        int size = g.asInt();
        if (size != -1 && (size <= 0 || size % 16 != 0)) {
            throw new ModelException(where + "." + field + " " + size + " is not supported (-1, or a multiple of 16 such as 32, 64 or 128)");
        }
        return size;
    }

    /** Inputs per group of a matrix with {@code cols} inputs. */
    public int groupSize(int cols) {
        return groupSize == -1 ? cols : groupSize;
    }
}

package dev.loraxj.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A PEFT LoRA {@code adapter_config.json}: rank and alpha (with per-module patterns), rsLoRA,
 * which modules and layers it targets. Anything we cannot serve faithfully is refused here.
 *
 * @param targetList    target_modules as a list of module-name suffixes, or null when a regex
 * @param targetRegex   target_modules as a regex fully matched against the module's full name
 * @param layers        layers_to_transform, or null for every layer
 */
public record LoraConfig(
        int r,
        double alpha,
        boolean useRslora,
        boolean fanInFanOut,
        List<String> targetList,
        Pattern targetRegex,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        List<Integer> layers,
        String baseModelNameOrPath) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static LoraConfig load(Path dir) {
        Path file = dir.resolve("adapter_config.json");
        if (!Files.isRegularFile(file)) {
            throw new AdapterException("adapter has no adapter_config.json");
        }
        try {
            return parse(JSON.readTree(file.toFile()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            // the original message, without Jackson's source location (it names the server's path)
            throw new AdapterException("adapter_config.json is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new AdapterException("adapter_config.json cannot be read", e);
        }
    }

    public static LoraConfig parse(JsonNode c) {
        String type = c.path("peft_type").asText("LORA");
        if (!type.equalsIgnoreCase("LORA")) {
            throw new AdapterException("unsupported PEFT type " + type + ": only LORA adapters can be served");
        }
        if (c.path("use_dora").asBoolean(false)) {
            throw new AdapterException("DoRA adapters (use_dora) are not supported");
        }
        JsonNode save = c.path("modules_to_save");
        if (save.isArray() && !save.isEmpty() || save.isTextual()) {
            throw new AdapterException("adapters with modules_to_save (" + save + ") replace base weights and cannot be batched; not supported");
        }
        int r = rank("r", c.get("r"), 8);
        double alpha = alpha("lora_alpha", c.get("lora_alpha"), 8);
        JsonNode targets = c.path("target_modules");
        List<String> list = null;
        Pattern regex = null;
        if (targets.isArray()) {
            list = new ArrayList<>();
            for (JsonNode t : targets) {
                if (!t.isTextual()) {
                    throw new AdapterException("adapter_config.json: target_modules must hold module names, got " + t);
                }
                list.add(t.asText());
            }
        } else if (targets.isTextual()) {
            try {
                regex = Pattern.compile(targets.asText());
            } catch (PatternSyntaxException e) {
                throw new AdapterException("target_modules is not a valid regex: " + e.getMessage());
            }
        } else {
            throw new AdapterException("adapter_config.json has no target_modules");
        }
        Map<String, Integer> rankPattern = new LinkedHashMap<>();
        c.path("rank_pattern").fields().forEachRemaining(e -> rankPattern.put(e.getKey(),
                rank("rank_pattern." + e.getKey(), required(e.getValue()), 0)));
        Map<String, Double> alphaPattern = new LinkedHashMap<>();
        c.path("alpha_pattern").fields().forEachRemaining(e -> alphaPattern.put(e.getKey(),
                alpha("alpha_pattern." + e.getKey(), required(e.getValue()), 0)));
        List<Integer> layers = null;
        JsonNode ltt = c.path("layers_to_transform");
        if (ltt.isInt()) {
            layers = List.of(ltt.asInt());
        } else if (ltt.isArray()) {
            layers = new ArrayList<>();
            for (JsonNode l : ltt) {
                if (!l.isInt()) {
                    throw new AdapterException("adapter_config.json: layers_to_transform must hold layer numbers, got " + l);
                }
                layers.add(l.asInt());
            }
        } else if (!ltt.isMissingNode() && !ltt.isNull()) {
            throw new AdapterException("adapter_config.json: layers_to_transform must be a layer number or a list of them, got " + ltt);
        }
        return new LoraConfig(r, alpha, flag(c, "use_rslora"), flag(c, "fan_in_fan_out"),
                list, regex, rankPattern, alphaPattern, layers,
                c.hasNonNull("base_model_name_or_path") ? c.get("base_model_name_or_path").asText() : null);
    }

    /** A rank: a positive integer (absent: {@code otherwise}); anything else would silently change the adapter. */
    private static int rank(String field, JsonNode v, int otherwise) {
        if (v == null || v.isNull()) {
            return otherwise;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 1) {
            throw new AdapterException("adapter_config.json: " + field + " must be a positive integer, got " + v);
        }
        return v.asInt();
    }

    /** An alpha: a finite number that a float holds, since the kernels scale in float. */
    private static double alpha(String field, JsonNode v, double otherwise) {
        if (v == null || v.isNull()) {
            return otherwise;
        }
        if (!v.isNumber() || !Float.isFinite((float) v.asDouble())) {
            throw new AdapterException("adapter_config.json: " + field + " must be a finite number, got " + v);
        }
        return v.asDouble();
    }

    /** A pattern's value must be there: a null would otherwise read as the default. */
    private static JsonNode required(JsonNode v) {
        return v.isNull() ? com.fasterxml.jackson.databind.node.TextNode.valueOf("null") : v;
    }

    private static boolean flag(JsonNode c, String field) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new AdapterException("adapter_config.json: " + field + " must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    /** Whether the module at {@code fullName} (e.g. model.layers.3.self_attn.q_proj) is adapted. */
    public boolean targets(String fullName, int layer) {
        if (layers != null && !layers.contains(layer)) {
            return false;
        }
        if (targetRegex != null) {
            return targetRegex.matcher(fullName).matches();
        }
        for (String t : targetList) {
            if (fullName.equals(t) || fullName.endsWith("." + t)) {
                return true;
            }
        }
        return false;
    }

    /** The rank of the module at {@code fullName}, rank_pattern applied. */
    public int rank(String fullName) {
        String key = patternKey(rankPattern.keySet(), fullName);
        return key == null ? r : rankPattern.get(key);
    }

    /** The LoRA scale of the module: alpha/r, or alpha/sqrt(r) with rsLoRA, patterns applied. */
    public double scale(String fullName) {
        int rank = rank(fullName);
        String key = patternKey(alphaPattern.keySet(), fullName);
        double a = key == null ? alpha : alphaPattern.get(key);
        return useRslora ? a / Math.sqrt(rank) : a / rank;
    }

    /** PEFT's rule: the first pattern that matches the end of the name at a dot boundary. */
    private static String patternKey(Iterable<String> keys, String fullName) {
        for (String k : keys) {
            try {
                if (Pattern.compile("(.*\\.)?(" + k + ")$").matcher(fullName).matches()) {
                    return k;
                }
            } catch (PatternSyntaxException e) {
                throw new AdapterException("rank_pattern/alpha_pattern key is not a valid regex: " + k);
            }
        }
        return null;
    }

    /** The module names targeted in a readable form, for errors and listings. */
    public String targetsDescription() {
        return targetList != null ? String.join(",", targetList) : "regex " + targetRegex.pattern();
    }
}

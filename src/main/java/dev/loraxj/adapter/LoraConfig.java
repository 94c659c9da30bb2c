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
        } catch (IOException e) {
            throw new AdapterException("adapter_config.json is not valid JSON: " + e.getMessage(), e);
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
        int r = c.path("r").asInt(8);
        if (r < 1) {
            throw new AdapterException("adapter_config.json: r must be positive, got " + r);
        }
        double alpha = c.path("lora_alpha").asDouble(8);
        JsonNode targets = c.path("target_modules");
        List<String> list = null;
        Pattern regex = null;
        if (targets.isArray()) {
            list = new ArrayList<>();
            for (JsonNode t : targets) {
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
        c.path("rank_pattern").fields().forEachRemaining(e -> rankPattern.put(e.getKey(), e.getValue().asInt()));
        Map<String, Double> alphaPattern = new LinkedHashMap<>();
        c.path("alpha_pattern").fields().forEachRemaining(e -> alphaPattern.put(e.getKey(), e.getValue().asDouble()));
        List<Integer> layers = null;
        JsonNode ltt = c.path("layers_to_transform");
        if (ltt.isInt()) {
            layers = List.of(ltt.asInt());
        } else if (ltt.isArray()) {
            layers = new ArrayList<>();
            for (JsonNode l : ltt) {
                layers.add(l.asInt());
            }
        }
        return new LoraConfig(r, alpha, c.path("use_rslora").asBoolean(false), c.path("fan_in_fan_out").asBoolean(false),
                list, regex, rankPattern, alphaPattern, layers,
                c.hasNonNull("base_model_name_or_path") ? c.get("base_model_name_or_path").asText() : null);
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

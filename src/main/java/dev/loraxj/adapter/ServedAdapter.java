package dev.loraxj.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.backend.LoraAdapter;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * An adapter directory as the server serves it: its LoRA weights (or none), its Medusa heads (or
 * none) and, if it ships one, its chat template. A Medusa adapter that also carries a LoRA switches both.
 */
public record ServedAdapter(LoadedAdapter weights, MedusaHeads medusa, Optional<String> chatTemplate) implements LoadedAdapter {

    /** Plans loading the adapter in {@code dir} for {@code base}. */
    public static AdapterPlan plan(Path dir, ModelConfig base) {
        boolean hasLora = Files.isRegularFile(dir.resolve("adapter_config.json"));
        boolean hasMedusa = MedusaLoader.present(dir);
        AdapterPlan weights = hasLora || !hasMedusa ? LoraWeights.plan(dir, base) : null;
        MedusaHeads medusa = hasMedusa ? MedusaLoader.load(dir, base) : null;
        Optional<String> template = chatTemplate(dir);
        return new AdapterPlan() {
            @Override
            public long bytes() {
                return (weights == null ? 0 : weights.bytes()) + (medusa == null ? 0 : medusa.bytes());
            }

            @Override
            public LoadedAdapter materialize() {
                return new ServedAdapter(weights == null ? null : weights.materialize(), medusa, template);
            }
        };
    }

    /** chat_template from the adapter's tokenizer_config.json: a string, or a named list whose "default" is used. */
    static Optional<String> chatTemplate(Path dir) {
        Path f = dir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            JsonNode t = new ObjectMapper().readTree(f.toFile()).path("chat_template");
            if (t.isTextual()) {
                return Optional.of(t.asText());
            }
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText())) {
                    return Optional.of(named.path("template").asText());
                }
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new AdapterException("adapter tokenizer_config.json is not valid JSON: " + e.getMessage(), e);
        }
    }

    @Override
    public LoraAdapter lora() {
        return weights == null ? null : weights.lora();
    }

    @Override
    public long bytes() {
        return (weights == null ? 0 : weights.bytes()) + (medusa == null ? 0 : medusa.bytes());
    }

    @Override
    public String description() {
        String d = weights == null ? "" : weights.description();
        if (medusa != null) {
            d += (d.isEmpty() ? "" : " +") + "medusa v" + medusa.version() + " " + medusa.numHeads() + " heads";
        }
        return d + (chatTemplate.isPresent() ? " +chat template" : "");
    }
}

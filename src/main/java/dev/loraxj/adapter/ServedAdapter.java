package dev.loraxj.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.backend.LoraAdapter;
import dev.loraxj.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** An adapter directory as the server serves it: its LoRA weights and, if it ships one, its chat template. */
public record ServedAdapter(LoadedAdapter weights, Optional<String> chatTemplate) implements LoadedAdapter {

    /** Plans loading the adapter in {@code dir} for {@code base}. */
    public static AdapterPlan plan(Path dir, ModelConfig base) {
        AdapterPlan weights = LoraWeights.plan(dir, base);
        Optional<String> template = chatTemplate(dir);
        return new AdapterPlan() {
            @Override
            public long bytes() {
                return weights.bytes();
            }

            @Override
            public LoadedAdapter materialize() {
                return new ServedAdapter(weights.materialize(), template);
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
        return weights.lora();
    }

    @Override
    public long bytes() {
        return weights.bytes();
    }

    @Override
    public String description() {
        return weights.description() + (chatTemplate.isPresent() ? " +chat template" : "");
    }
}

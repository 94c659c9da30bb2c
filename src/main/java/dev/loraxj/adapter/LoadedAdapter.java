package dev.loraxj.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.AdapterSlots;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * An adapter in memory, as the store holds it and the server serves it: its LoRA weights in a
 * backend slot (or none), its Medusa heads (or none) and, if it ships one, its chat template. A
 * Medusa adapter that also carries a LoRA switches both.
 *
 * @param lora            the backend's slot for its LoRA updates; null for an adapter that carries none
 * @param loraDescription a short description of the LoRA for listings ("lora r=4 q_proj,v_proj")
 * @param slots           where the slot was registered, and is released when the store evicts it
 */
public record LoadedAdapter(AdapterSlot lora, MedusaHeads medusa, Optional<String> chatTemplate, String loraDescription,
                            AdapterSlots slots) {

    /** Checks the adapter in {@code dir} (already fetched) for {@code base}; its weights go into {@code slots} on materialize. */
    public static PendingAdapter pending(Path dir, ModelConfig base, AdapterSlots slots) {
        boolean hasLora = Files.isRegularFile(dir.resolve("adapter_config.json"));
        boolean hasMedusa = MedusaLoader.present(dir);
        LoraWeights.Pending weights = hasLora || !hasMedusa ? LoraWeights.check(dir, base) : null;
        MedusaHeads medusa = hasMedusa ? MedusaLoader.load(dir, base) : null;
        Optional<String> template = chatTemplate(dir);
        AdapterFootprint footprint = footprint(weights == null ? AdapterFootprint.NONE : slots.footprint(weights.shapes()), medusa);
        return new PendingAdapter() {
            @Override
            public AdapterFootprint footprint() {
                return footprint;
            }

            @Override
            public LoadedAdapter materialize() {
                return weights == null ? new LoadedAdapter(null, medusa, template, "", slots)
                        : of(weights.read(), medusa, template, slots);
            }
        };
    }

    /** Registers checked weights (a merge's result) with {@code slots}. */
    public static LoadedAdapter of(LoraWeights weights, MedusaHeads medusa, Optional<String> template, AdapterSlots slots) {
        return new LoadedAdapter(slots.register(weights.updates()), medusa, template, weights.description(), slots);
    }

    /** Medusa heads are held as the backend reads them, so they count in its device tier. */
    private static AdapterFootprint footprint(AdapterFootprint lora, MedusaHeads medusa) {
        return medusa == null ? lora : lora.plus(new AdapterFootprint(medusa.bytes(), 0));
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

    /** What it holds, per tier: exactly what its pending adapter reserved. */
    public AdapterFootprint footprint() {
        return footprint(lora == null ? AdapterFootprint.NONE : lora.footprint(), medusa);
    }

    /** Gives the backend back what it holds; the store calls it once, when it evicts the adapter. */
    public void release() {
        if (lora != null) {
            slots.release(lora);
        }
    }

    /** A short description for listings ("lora r=4 q,v,o +medusa v2 3 heads"). */
    public String description() {
        String d = loraDescription;
        if (medusa != null) {
            d += (d.isEmpty() ? "" : " +") + "medusa v" + medusa.version() + " " + medusa.numHeads() + " heads";
        }
        return d + (chatTemplate.isPresent() ? " +chat template" : "");
    }
}

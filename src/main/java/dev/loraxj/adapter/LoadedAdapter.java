package dev.loraxj.adapter;

import dev.loraxj.backend.LoraAdapter;

/** An adapter in memory: what the backend applies, and what the store accounts for. */
public interface LoadedAdapter {

    /** The LoRA updates; null for an adapter that carries none. */
    LoraAdapter lora();

    /** Medusa heads the adapter carries; null for none. */
    default dev.loraxj.backend.MedusaHeads medusa() {
        return null;
    }

    long bytes();

    /** A short description for listings ("lora r=4 q,v,o"). */
    String description();

    /** The chat template the adapter ships in its own tokenizer_config.json, if any. */
    default java.util.Optional<String> chatTemplate() {
        return java.util.Optional.empty();
    }
}

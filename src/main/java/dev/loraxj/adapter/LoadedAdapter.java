package dev.loraxj.adapter;

import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlot;

/** An adapter in memory: what the backend applies, and what the store accounts for. */
public interface LoadedAdapter {

    /** The backend's slot for its LoRA updates; null for an adapter that carries none. */
    AdapterSlot lora();

    /** Medusa heads the adapter carries; null for none. */
    default dev.loraxj.backend.MedusaHeads medusa() {
        return null;
    }

    /** What it holds, per tier: exactly what its plan reserved. */
    AdapterFootprint footprint();

    /** A short description for listings ("lora r=4 q,v,o"). */
    String description();

    /** The chat template the adapter ships in its own tokenizer_config.json, if any. */
    default java.util.Optional<String> chatTemplate() {
        return java.util.Optional.empty();
    }

    /** Gives the backend back what it holds; the store calls it once, when it evicts the adapter. */
    void release();
}

package dev.loraxj.backend;

import java.util.List;

/** Where adapters' weights go: what a backend will hold for them, taking them in, and freeing them. */
public interface AdapterSlots {

    /** What {@link #register} will hold for an adapter of these shapes, per tier; known before its weights are read. */
    AdapterFootprint footprint(List<LoraShape> shapes);

    /**
     * Takes an adapter's LoRA updates into the backend's own layout (and memory) and names them with a
     * slot, whose footprint is exactly {@link #footprint} of their shapes. Any thread.
     */
    AdapterSlot register(List<LoraUpdate> updates);

    /** Frees what {@link #register} took, once no sequence uses the slot; releasing twice is a no-op. */
    void release(AdapterSlot slot);
}

package dev.loraxj.engine;

import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.MedusaHeads;

/** What a sequence runs with once its gate opens: a LoRA's backend slot (or none) and Medusa heads (or none). */
public record SequenceAdapter(AdapterSlot lora, MedusaHeads medusa) {

    public static final SequenceAdapter NONE = new SequenceAdapter(null, null);
}

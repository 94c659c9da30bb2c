package dev.loraxj.engine;

import dev.loraxj.backend.LoraAdapter;
import dev.loraxj.backend.MedusaHeads;

/** What a sequence runs with once its gate opens: a LoRA (or none) and Medusa heads (or none). */
public record SequenceAdapter(LoraAdapter lora, MedusaHeads medusa) {

    public static final SequenceAdapter NONE = new SequenceAdapter(null, null);
}

package dev.loraxj.engine;

import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.grammar.Grammar;

/**
 * What a sequence runs with once its gate opens: a LoRA's backend slot (or none), Medusa heads (or
 * none) and the grammar its output must follow (or none). Each is prepared off the engine thread
 * while the sequence waits in its queue.
 */
public record SequenceSetup(AdapterSlot lora, MedusaHeads medusa, Grammar grammar) {

    public static final SequenceSetup NONE = new SequenceSetup(null, null, null);

    public SequenceSetup(AdapterSlot lora, MedusaHeads medusa) {
        this(lora, medusa, null);
    }

    public SequenceSetup withGrammar(Grammar g) {
        return new SequenceSetup(lora, medusa, g);
    }
}

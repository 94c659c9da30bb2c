package dev.loraxj.service;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.adapter.ApiToken;
import dev.loraxj.engine.GenerationRequest;

/**
 * A request that passed validation: what the engine runs, and how the answer is shaped.
 *
 * @param inputs     the prompt text (after truncation, as LoRAX reports it for return_full_text)
 * @param generation what the engine runs; best_of and n run it several times, with fresh seeds
 * @param parameters the rest of the request, as validated (the engine runs {@code generation}, not these)
 */
public record ValidRequest(String inputs, GenerationRequest generation, ValidParameters parameters) {

    /** The adapter or merge to apply, or null for the base model. */
    public AdapterKey adapter() {
        return parameters.adapter();
    }

    public ApiToken token() {
        return parameters.token();
    }

    public int bestOf() {
        return parameters.bestOf();
    }

    public boolean returnFullText() {
        return parameters.returnFullText();
    }

    public boolean details() {
        return parameters.details();
    }

    public boolean decoderInputDetails() {
        return parameters.decoderInputDetails();
    }
}

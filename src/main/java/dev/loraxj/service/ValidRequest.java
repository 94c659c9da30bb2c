package dev.loraxj.service;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.adapter.ApiToken;
import dev.loraxj.engine.GenerationRequest;

/**
 * A request that passed validation: what the engine runs, and how the answer is shaped.
 *
 * @param inputs       the prompt text (after truncation, as LoRAX reports it for return_full_text)
 * @param generation   what the engine runs; best_of runs it {@code bestOf} times with fresh seeds
 * @param adapter      the adapter or merge to apply, or null for the base model
 * @param token        the caller's token for private adapters, or null (prints redacted)
 */
public record ValidRequest(
        String inputs,
        GenerationRequest generation,
        int bestOf,
        boolean returnFullText,
        boolean details,
        boolean decoderInputDetails,
        AdapterKey adapter,
        ApiToken token) {
}

package dev.loraxj.service;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.adapter.ApiToken;
import dev.loraxj.engine.SamplingParams;
import dev.loraxj.grammar.ConstraintSpec;

import java.util.List;

/**
 * A request's parameters that passed validation, before its prompt is known: enough to hold its
 * adapter, whose chat template may be what renders the prompt.
 *
 * @param adapter        the adapter or merge to apply, or null for the base model
 * @param token          the caller's token for private adapters, or null (prints redacted)
 * @param seedReported   the seed the response reports (null when not sampling)
 * @param maxNewTokens   as asked; null: up to the room the prompt leaves
 * @param truncate       keep only this many last prompt tokens; null: keep all
 * @param constraint     what the output must be (a JSON schema, a regex, tool calls), or null for free text
 */
public record ValidParameters(
        AdapterKey adapter,
        ApiToken token,
        SamplingParams sampling,
        Long seedReported,
        Integer maxNewTokens,
        List<String> stops,
        boolean ignoreEosToken,
        Integer truncate,
        int bestOf,
        boolean returnFullText,
        boolean details,
        boolean decoderInputDetails,
        int alternatives,
        String cacheSalt,
        ConstraintSpec constraint) {

    /** The same parameters with {@code constraint} instead (the OpenAI chat route's tools). */
    public ValidParameters withConstraint(ConstraintSpec constraint) {
        return new ValidParameters(adapter, token, sampling, seedReported, maxNewTokens, stops, ignoreEosToken, truncate, bestOf,
                returnFullText, details, decoderInputDetails, alternatives, cacheSalt, constraint);
    }
}

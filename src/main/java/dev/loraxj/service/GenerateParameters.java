package dev.loraxj.service;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/**
 * LoRAX's {@code parameters}, as sent: every field may be absent (null). Defaults and checks live
 * in {@link RequestValidator}.
 *
 * @param responseFormat LoRAX's {@code {"type": "json_object", "schema": ...}} (see {@link OutputConstraints})
 * @param grammar        TGI's {@code {"type": "json" | "regex" | "json_schema", "value": ...}}
 */
public record GenerateParameters(
        String adapterId,
        String adapterSource,
        MergedAdapters mergedAdapters,
        String apiToken,
        Integer bestOf,
        Float temperature,
        Float repetitionPenalty,
        Float frequencyPenalty,
        Float presencePenalty,
        Integer topK,
        Float topP,
        Float typicalP,
        Boolean doSample,
        Integer maxNewTokens,
        Boolean ignoreEosToken,
        Boolean returnFullText,
        List<String> stop,
        Integer truncate,
        Boolean watermark,
        Boolean details,
        Boolean decoderInputDetails,
        Integer returnKAlternatives,
        Boolean applyChatTemplate,
        Long seed,
        JsonNode responseFormat,
        java.util.Map<String, Float> logitBias,
        String cacheSalt,
        JsonNode grammar) {

    /** Without a grammar. */
    public GenerateParameters(String adapterId, String adapterSource, MergedAdapters mergedAdapters, String apiToken, Integer bestOf,
                              Float temperature, Float repetitionPenalty, Float frequencyPenalty, Float presencePenalty, Integer topK,
                              Float topP, Float typicalP, Boolean doSample, Integer maxNewTokens, Boolean ignoreEosToken,
                              Boolean returnFullText, List<String> stop, Integer truncate, Boolean watermark, Boolean details,
                              Boolean decoderInputDetails, Integer returnKAlternatives, Boolean applyChatTemplate, Long seed,
                              JsonNode responseFormat, java.util.Map<String, Float> logitBias, String cacheSalt) {
        this(adapterId, adapterSource, mergedAdapters, apiToken, bestOf, temperature, repetitionPenalty, frequencyPenalty,
                presencePenalty, topK, topP, typicalP, doSample, maxNewTokens, ignoreEosToken, returnFullText, stop, truncate,
                watermark, details, decoderInputDetails, returnKAlternatives, applyChatTemplate, seed, responseFormat, logitBias,
                cacheSalt, null);
    }

    /** Without a cache salt. */
    public GenerateParameters(String adapterId, String adapterSource, MergedAdapters mergedAdapters, String apiToken, Integer bestOf,
                              Float temperature, Float repetitionPenalty, Float frequencyPenalty, Float presencePenalty, Integer topK,
                              Float topP, Float typicalP, Boolean doSample, Integer maxNewTokens, Boolean ignoreEosToken,
                              Boolean returnFullText, List<String> stop, Integer truncate, Boolean watermark, Boolean details,
                              Boolean decoderInputDetails, Integer returnKAlternatives, Boolean applyChatTemplate, Long seed,
                              JsonNode responseFormat, java.util.Map<String, Float> logitBias) {
        this(adapterId, adapterSource, mergedAdapters, apiToken, bestOf, temperature, repetitionPenalty, frequencyPenalty,
                presencePenalty, topK, topP, typicalP, doSample, maxNewTokens, ignoreEosToken, returnFullText, stop, truncate,
                watermark, details, decoderInputDetails, returnKAlternatives, applyChatTemplate, seed, responseFormat, logitBias, null, null);
    }

    public static GenerateParameters none() {
        return new GenerateParameters(null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }
}

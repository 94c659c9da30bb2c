package dev.loraxj.service;

import java.util.List;

/**
 * LoRAX's {@code parameters}, as sent: every field may be absent (null). Defaults and checks live
 * in {@link RequestValidator}.
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
        Object responseFormat,
        java.util.Map<String, Float> logitBias,
        String cacheSalt) {

    /** Without a cache salt. */
    public GenerateParameters(String adapterId, String adapterSource, MergedAdapters mergedAdapters, String apiToken, Integer bestOf,
                              Float temperature, Float repetitionPenalty, Float frequencyPenalty, Float presencePenalty, Integer topK,
                              Float topP, Float typicalP, Boolean doSample, Integer maxNewTokens, Boolean ignoreEosToken,
                              Boolean returnFullText, List<String> stop, Integer truncate, Boolean watermark, Boolean details,
                              Boolean decoderInputDetails, Integer returnKAlternatives, Boolean applyChatTemplate, Long seed,
                              Object responseFormat, java.util.Map<String, Float> logitBias) {
        this(adapterId, adapterSource, mergedAdapters, apiToken, bestOf, temperature, repetitionPenalty, frequencyPenalty,
                presencePenalty, topK, topP, typicalP, doSample, maxNewTokens, ignoreEosToken, returnFullText, stop, truncate,
                watermark, details, decoderInputDetails, returnKAlternatives, applyChatTemplate, seed, responseFormat, logitBias, null);
    }

    public static GenerateParameters none() {
        return new GenerateParameters(null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }
}

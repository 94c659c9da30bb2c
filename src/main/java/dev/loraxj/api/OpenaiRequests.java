package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.service.GenerateParameters;
import dev.loraxj.service.ServedModel;
import dev.loraxj.service.ValidationException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Translates OpenAI requests into LoRAX parameters. OpenAI's own rules are checked here (n,
 * temperature 0..2, top_logprobs, the shapes of stop, prompt and messages); the engine's limits
 * are checked by the service's validator, whose messages OpenaiErrors renames.
 */
final class OpenaiRequests {

    static final int MAX_N = 128;
    static final int MAX_TOP_LOGPROBS = 20;
    /** OpenAI's default max_tokens for /v1/completions (chat has none: up to the context). */
    static final int COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

    private OpenaiRequests() {
    }

    /**
     * An OpenAI request translated: the LoRAX parameters the engine runs with, and what the answer
     * must look like (the model name, n choices, streaming, usage, logprobs, echo, stop texts).
     *
     * @param model        the name to answer with
     * @param topLogprobs  alternatives per token; -1 when logprobs were not asked for
     */
    record Translated(String model, int n, boolean stream, boolean includeUsage, int topLogprobs, boolean echo,
                List<String> stops, GenerateParameters parameters) {

        boolean logprobs() {
            return topLogprobs >= 0;
        }
    }

    static Translated chat(OpenaiWire.ChatRequest r, ServedModel baseModel) {
        if (r.messages() == null || r.messages().isEmpty()) {
            throw new ValidationException("`messages` must be a non-empty array");
        }
        if (r.tools() != null && !r.tools().isNull() && !r.tools().isEmpty()) {
            throw new ValidationException("`tools` are not supported");
        }
        boolean logprobs = Boolean.TRUE.equals(r.logprobs());
        if (r.topLogprobs() != null && (r.topLogprobs() < 0 || r.topLogprobs() > MAX_TOP_LOGPROBS)) {
            throw new ValidationException("`top_logprobs` must be between 0 and " + MAX_TOP_LOGPROBS);
        }
        if (r.topLogprobs() != null && !logprobs) {
            throw new ValidationException("`top_logprobs` requires `logprobs` to be true");
        }
        int top = logprobs ? (r.topLogprobs() == null ? 0 : r.topLogprobs()) : -1;
        Integer maxTokens = r.maxCompletionTokens() != null ? r.maxCompletionTokens() : r.maxTokens();
        if (maxTokens != null && maxTokens < 1) {
            throw new ValidationException("`" + (r.maxCompletionTokens() != null ? "max_completion_tokens" : "max_tokens") + "` must be at least 1");
        }
        responseFormat(r.responseFormat());
        boolean stream = Boolean.TRUE.equals(r.stream());
        List<String> stops = stops(r.stop());
        GenerateParameters p = parameters(r.model(), r.adapterSource(), r.apiToken(), r.temperature(), r.topP(), r.topK(),
                r.repetitionPenalty(), r.frequencyPenalty(), r.presencePenalty(), maxTokens, r.ignoreEosToken(), stops,
                logprobs, false, Math.max(0, top), null, r.seed(), r.logitBias(), r.cacheSalt());
        return new Translated(name(r.model(), baseModel), n(r.n()), stream, includeUsage(r.streamOptions(), stream), top, false, stops, p);
    }

    static Translated completion(OpenaiWire.CompletionRequest r, ServedModel baseModel) {
        if (r.suffix() != null && !r.suffix().isEmpty()) {
            throw new ValidationException("`suffix` is not supported");
        }
        if (r.logprobs() != null && (r.logprobs() < 0 || r.logprobs() > MAX_TOP_LOGPROBS)) {
            throw new ValidationException("`logprobs` must be between 0 and " + MAX_TOP_LOGPROBS);
        }
        int top = r.logprobs() == null ? -1 : r.logprobs();
        boolean echo = Boolean.TRUE.equals(r.echo());
        boolean stream = Boolean.TRUE.equals(r.stream());
        if (stream && echo && top >= 0) {
            throw new ValidationException("`echo` with `logprobs` is not supported when streaming");
        }
        int n = n(r.n());
        if (r.bestOf() != null && r.bestOf() != 1 && n != 1) {
            throw new ValidationException("`best_of` is supported only with `n` = 1");
        }
        if (r.maxTokens() != null && r.maxTokens() < 1) {
            throw new ValidationException("`max_tokens` must be at least 1");
        }
        int maxTokens = r.maxTokens() == null ? COMPLETIONS_DEFAULT_MAX_TOKENS : r.maxTokens();
        List<String> stops = stops(r.stop());
        GenerateParameters p = parameters(r.model(), r.adapterSource(), r.apiToken(), r.temperature(), r.topP(), r.topK(),
                r.repetitionPenalty(), r.frequencyPenalty(), r.presencePenalty(), maxTokens, r.ignoreEosToken(), stops,
                top >= 0, echo && top >= 0, Math.max(0, top), r.bestOf(), r.seed(), r.logitBias(), r.cacheSalt());
        return new Translated(name(r.model(), baseModel), n, stream, includeUsage(r.streamOptions(), stream), top, echo, stops, p);
    }

    /**
     * The engine parameters. OpenAI samples unless temperature is 0, which means greedy (then top_p
     * and top_k would turn sampling back on in the validator, so they are dropped).
     */
    private static GenerateParameters parameters(String model, String adapterSource, String apiToken, Float temperature,
                                                 Float topP, Integer topK, Float repetitionPenalty, Float frequencyPenalty,
                                                 Float presencePenalty, Integer maxTokens, Boolean ignoreEos,
                                                 List<String> stops, boolean details, boolean prefill, int alternatives,
                                                 Integer bestOf, Long seed, Map<String, Float> logitBias, String cacheSalt) {
        if (temperature != null && !(temperature >= 0f && temperature <= 2f)) {
            throw new ValidationException("`temperature` must be between 0 and 2");
        }
        if (seed != null && seed < 0) {
            throw new ValidationException("`seed` must be >= 0");
        }
        boolean greedy = temperature != null && temperature == 0f;
        String adapter = model == null || model.isEmpty() || endpointUrl(model) ? null : model;
        return new GenerateParameters(adapter, adapterSource, null, apiToken, bestOf, greedy ? null : temperature,
                repetitionPenalty, frequencyPenalty, presencePenalty, greedy ? null : topK, greedy ? null : topP, null,
                !greedy, maxTokens, ignoreEos, false, stops, null, null, details, prefill,
                alternatives > 0 ? alternatives : null, null, seed, null, logitBias, cacheSalt);
    }

    /** The prompts of a completions request: one string, or an array of strings. */
    static List<String> prompts(JsonNode prompt) {
        if (prompt == null || prompt.isNull()) {
            throw new ValidationException("`prompt` is required");
        }
        if (prompt.isTextual()) {
            return List.of(prompt.asText());
        }
        if (prompt.isArray() && !prompt.isEmpty()) {
            List<String> out = new ArrayList<>();
            for (JsonNode p : prompt) {
                if (!p.isTextual()) {
                    throw new ValidationException("`prompt` must be a string or an array of strings (token ids are not supported)");
                }
                out.add(p.asText());
            }
            return out;
        }
        throw new ValidationException("`prompt` must be a string or a non-empty array of strings");
    }

    /** Messages as a chat template reads them; text parts of an array content are joined by newlines. */
    static List<Map<String, Object>> messages(List<OpenaiWire.ChatMessage> messages) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            OpenaiWire.ChatMessage m = messages.get(i);
            if (m == null || m.role() == null || m.role().isEmpty()) {
                throw new ValidationException("`messages[" + i + "].role` is required");
            }
            Map<String, Object> map = new HashMap<>();
            map.put("role", m.role());
            map.put("content", content(m.content(), i));
            if (m.name() != null) {
                map.put("name", m.name());
            }
            if (m.toolCallId() != null) {
                map.put("tool_call_id", m.toolCallId());
            }
            if (m.toolCalls() != null && !m.toolCalls().isNull()) {
                if (!m.toolCalls().isArray()) {
                    throw new ValidationException("`messages[" + i + "].tool_calls` must be an array");
                }
                map.put("tool_calls", Json.MAPPER.convertValue(m.toolCalls(), List.class));
            }
            out.add(map);
        }
        return out;
    }

    private static String content(JsonNode content, int i) {
        if (content == null || content.isNull()) {
            return null;
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (content.isArray()) {
            List<String> parts = new ArrayList<>();
            for (JsonNode part : content) {
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw new ValidationException("`messages[" + i + "].content`: only text parts are supported");
                }
                parts.add(part.path("text").asText());
            }
            return String.join("\n", parts);
        }
        throw new ValidationException("`messages[" + i + "].content` must be a string or an array of text parts");
    }

    static List<String> stops(JsonNode stop) {
        if (stop == null || stop.isNull()) {
            return List.of();
        }
        if (stop.isTextual()) {
            return List.of(stop.asText());
        }
        if (stop.isArray()) {
            List<String> out = new ArrayList<>();
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw new ValidationException("`stop` must be a string or an array of strings");
                }
                out.add(s.asText());
            }
            return out;
        }
        throw new ValidationException("`stop` must be a string or an array of strings");
    }

    private static void responseFormat(JsonNode format) {
        if (format != null && !format.isNull() && !"text".equals(format.path("type").asText())) {
            throw new ValidationException("`response_format`: only {\"type\": \"text\"} is supported");
        }
    }

    private static int n(Integer n) {
        if (n != null && (n < 1 || n > MAX_N)) {
            throw new ValidationException("`n` must be between 1 and " + MAX_N);
        }
        return n == null ? 1 : n;
    }

    private static boolean includeUsage(OpenaiWire.StreamOptions options, boolean stream) {
        if (options != null && !stream) {
            throw new ValidationException("`stream_options` is only allowed when `stream` is true");
        }
        return options != null && Boolean.TRUE.equals(options.includeUsage());
    }

    /** The name a response carries: the served name for the base model (never its path), else the adapter as asked. */
    private static String name(String model, ServedModel baseModel) {
        return model == null || model.isEmpty() || endpointUrl(model) || baseModel.names(model) ? baseModel.name() : model;
    }

    /**
     * An http(s) URL as {@code model} means the server's default, as TGI reads it: no adapter id is
     * a URL, and @huggingface/inference with {@code endpointUrl} sends the endpoint itself as the model.
     */
    static boolean endpointUrl(String model) {
        return model.regionMatches(true, 0, "http://", 0, 7) || model.regionMatches(true, 0, "https://", 0, 8);
    }
}

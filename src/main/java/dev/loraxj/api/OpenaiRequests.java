package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.service.GenerateParameters;
import dev.loraxj.service.OutputConstraints;
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
     * @param tools        the chat's tools: for the template, and the calls the reply is read for
     */
    record Translated(String model, int n, boolean stream, boolean includeUsage, int topLogprobs, boolean echo,
                List<String> stops, GenerateParameters parameters, OpenaiTools tools) {

        boolean logprobs() {
            return topLogprobs >= 0;
        }
    }

    static Translated chat(OpenaiWire.ChatRequest r, ServedModel baseModel) {
        if (r.messages() == null || r.messages().isEmpty()) {
            throw new ValidationException("`messages` must be a non-empty array");
        }
        OpenaiTools tools = OpenaiTools.of(r.tools(), r.toolChoice(), r.parallelToolCalls());
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
        JsonNode format = responseFormat(r.responseFormat());
        if (format != null && tools.calls()) {
            throw new ValidationException("`response_format` " + format.path("type").asText() + " and `tools` cannot both shape one "
                    + "reply: leave one out, or set `tool_choice` to \"none\" so the reply follows `response_format`");
        }
        boolean stream = Boolean.TRUE.equals(r.stream());
        List<String> stops = stops(r.stop());
        GenerateParameters p = parameters(r.model(), r.adapterSource(), r.apiToken(), r.temperature(), r.topP(), r.topK(),
                r.repetitionPenalty(), r.frequencyPenalty(), r.presencePenalty(), maxTokens, r.ignoreEosToken(), stops,
                logprobs, false, Math.max(0, top), null, r.seed(), r.logitBias(), r.cacheSalt(), format);
        return new Translated(name(r.model(), baseModel), n(r.n()), stream, includeUsage(r.streamOptions(), stream), top, false, stops, p,
                tools);
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
                top >= 0, echo && top >= 0, Math.max(0, top), r.bestOf(), r.seed(), r.logitBias(), r.cacheSalt(),
                responseFormat(r.responseFormat()));
        return new Translated(name(r.model(), baseModel), n, stream, includeUsage(r.streamOptions(), stream), top, echo, stops, p,
                OpenaiTools.NONE);
    }

    /**
     * The engine parameters. OpenAI samples unless temperature is 0, which means greedy (then top_p
     * and top_k would turn sampling back on in the validator, so they are dropped).
     */
    private static GenerateParameters parameters(String model, String adapterSource, String apiToken, Float temperature,
                                                 Float topP, Integer topK, Float repetitionPenalty, Float frequencyPenalty,
                                                 Float presencePenalty, Integer maxTokens, Boolean ignoreEos,
                                                 List<String> stops, boolean details, boolean prefill, int alternatives,
                                                 Integer bestOf, Long seed, Map<String, Float> logitBias, String cacheSalt,
                                                 JsonNode responseFormat) {
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
                alternatives > 0 ? alternatives : null, null, seed, responseFormat, logitBias, cacheSalt);
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
            if ("tool".equals(m.role()) && (m.toolCallId() == null || m.toolCallId().isEmpty())) {
                throw new ValidationException("`messages[" + i + "].tool_call_id` is required in a message of role tool: "
                        + "the id of the call it answers");
            }
            if (m.toolCalls() != null && !m.toolCalls().isNull()) {
                if (!"assistant".equals(m.role())) {
                    throw new ValidationException("`messages[" + i + "].tool_calls`: only assistant messages carry tool calls");
                }
                map.put("tool_calls", toolCalls(m.toolCalls(), i));
            }
            out.add(map);
        }
        return out;
    }

    /**
     * An assistant message's tool calls as transformers hands them to templates: as sent, with each
     * {@code function.arguments} that is a JSON object's text parsed to that object (templates write
     * {@code arguments | tojson}); any other arguments stay as sent.
     */
    private static List<Object> toolCalls(JsonNode calls, int i) {
        if (!calls.isArray()) {
            throw new ValidationException("`messages[" + i + "].tool_calls` must be an array");
        }
        List<Object> out = new ArrayList<>();
        for (int j = 0; j < calls.size(); j++) {
            JsonNode call = calls.get(j);
            String at = "messages[" + i + "].tool_calls[" + j + "]";
            JsonNode function = call.path("function");
            if (!call.isObject() || !function.isObject() || !function.path("name").isTextual()) {
                throw new ValidationException("`" + at + "` must be {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}");
            }
            JsonNode arguments = function.get("arguments");
            if (arguments != null && !arguments.isNull() && !arguments.isTextual() && !arguments.isObject()) {
                throw new ValidationException("`" + at + ".function.arguments` must be a JSON string or an object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> map = Json.MAPPER.convertValue(call, Map.class);
            if (arguments != null && arguments.isTextual()) {
                JsonNode parsed = parsedObject(arguments.asText());
                if (parsed != null) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> f = (Map<String, Object>) map.get("function");
                    f.put("arguments", Json.MAPPER.convertValue(parsed, Map.class));
                }
            }
            out.add(map);
        }
        return out;
    }

    private static JsonNode parsedObject(String text) {
        try {
            JsonNode node = Json.MAPPER.readTree(text);
            return node != null && node.isObject() ? node : null;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return null;
        }
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

    /**
     * OpenAI's response_format as LoRAX's: text is none, json_object is {"type": "json_object"}, and
     * json_schema (name required, as OpenAI has it; strict or not, the grammar holds the output to
     * the schema) is {"type": "json_object", "schema": ...}.
     */
    static JsonNode responseFormat(JsonNode format) {
        if (format == null || format.isNull()) {
            return null;
        }
        if (!format.isObject() || !format.path("type").isTextual()) {
            throw new ValidationException("`response_format` must be {\"type\": \"text\" | \"json_object\" | \"json_schema\", ...}");
        }
        String type = format.path("type").asText();
        java.util.Set<String> known = type.equals("json_schema") ? java.util.Set.of("type", "json_schema") : java.util.Set.of("type");
        format.fieldNames().forEachRemaining(f -> {
            if (!known.contains(f)) {
                throw new ValidationException("`response_format." + f + "` is not a field of response_format type " + type);
            }
        });
        com.fasterxml.jackson.databind.node.ObjectNode lorax = Json.MAPPER.createObjectNode().put("type", "json_object");
        return switch (type) {
            case "text" -> null;
            case "json_object" -> lorax;
            case "json_schema" -> {
                JsonNode config = format.get("json_schema");
                if (config == null || !config.isObject()) {
                    throw new ValidationException("`response_format.json_schema` is required: {\"name\": ..., \"schema\": {...}, \"strict\": true}");
                }
                JsonNode name = config.get("name");
                if (name == null || !name.isTextual() || !name.asText().matches("[a-zA-Z0-9_-]{1,64}")) {
                    throw new ValidationException("`response_format.json_schema.name` is required: 1 to 64 letters, digits, '_' or '-'");
                }
                JsonNode schema = OutputConstraints.openaiSchema(config, "response_format.json_schema");
                yield schema == null ? lorax : lorax.set("schema", schema);
            }
            default -> throw new ValidationException("`response_format.type` must be text, json_object or json_schema. Given: " + type);
        };
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

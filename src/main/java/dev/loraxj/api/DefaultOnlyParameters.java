package dev.loraxj.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.deser.DeserializationProblemHandler;
import dev.loraxj.service.GenerateParameters;
import dev.loraxj.service.ValidationException;

import java.io.IOException;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Parameters that LoRAX's, TGI's and OpenAI's clients send which the server does not implement:
 * accepted at the value that means "not used", refused with a message naming them otherwise. Any
 * other name a request record does not declare is refused as unknown (see {@link Json#parse}).
 */
final class DefaultOnlyParameters extends DeserializationProblemHandler {

    private static final Predicate<JsonNode> NULL = JsonNode::isNull;
    private static final Predicate<JsonNode> ANY = v -> true;
    private static final Predicate<JsonNode> FALSE = v -> v.isNull() || v.isBoolean() && !v.booleanValue();
    private static final Predicate<JsonNode> ZERO = v -> v.isNull() || v.isIntegralNumber() && v.longValue() == 0;
    private static final Predicate<JsonNode> NO_TOOLS = v -> v.isNull() || v.isArray() && v.isEmpty()
            || v.isTextual() && (v.asText().equals("none") || v.asText().equals("auto"));
    private static final Predicate<JsonNode> TEXT_ONLY = v -> v.isNull()
            || v.isArray() && v.size() == 1 && "text".equals(v.get(0).asText());
    private static final Predicate<JsonNode> DEFAULT_TIER = v -> v.isNull()
            || v.isTextual() && (v.asText().equals("auto") || v.asText().equals("default"));

    /** TGI's parameters, in LoRAX's parameters and (from @huggingface/inference) at the top of /v1/completions; TGI's grammar is a field of GenerateParameters. */
    private static final Map<String, Predicate<JsonNode>> TGI = Map.of(
            "top_n_tokens", ZERO,
            "adapter_id", NULL);

    /** OpenAI's chat fields for legacy functions, audio, storage and reasoning models; hints (cache key, safety id) are ignored. */
    private static final Map<String, Predicate<JsonNode>> OPENAI_CHAT = Map.ofEntries(
            Map.entry("functions", NO_TOOLS), Map.entry("function_call", NO_TOOLS),
            Map.entry("modalities", TEXT_ONLY), Map.entry("audio", NULL), Map.entry("prediction", NULL),
            Map.entry("store", FALSE), Map.entry("metadata", ANY), Map.entry("service_tier", DEFAULT_TIER),
            Map.entry("reasoning_effort", NULL), Map.entry("verbosity", NULL), Map.entry("web_search_options", NULL),
            Map.entry("prompt_cache_key", ANY), Map.entry("safety_identifier", ANY));

    /** @huggingface/inference's textGeneration spreads TGI's parameters into /v1/completions. */
    private static final Map<String, Predicate<JsonNode>> OPENAI_COMPLETIONS = Map.ofEntries(
            Map.entry("do_sample", v -> v.isNull() || v.isBoolean() && v.booleanValue()),
            Map.entry("return_full_text", FALSE), Map.entry("details", FALSE), Map.entry("decoder_input_details", FALSE),
            Map.entry("watermark", FALSE), Map.entry("truncate", NULL), Map.entry("typical_p", v -> v.isNull() || v.asDouble() == 1.0),
            Map.entry("grammar", NULL), Map.entry("top_n_tokens", ZERO), Map.entry("adapter_id", NULL),
            Map.entry("prompt_cache_key", ANY), Map.entry("safety_identifier", ANY));

    private static final Map<Class<?>, Map<String, Predicate<JsonNode>>> RULES = Map.of(
            GenerateParameters.class, TGI,
            OpenaiWire.ChatRequest.class, OPENAI_CHAT,
            OpenaiWire.CompletionRequest.class, OPENAI_COMPLETIONS);

    @Override
    public boolean handleUnknownProperty(DeserializationContext ctxt, JsonParser p, JsonDeserializer<?> deserializer,
                                         Object beanOrClass, String propertyName) throws IOException {
        Class<?> type = beanOrClass instanceof Class<?> c ? c : beanOrClass.getClass();
        Predicate<JsonNode> unused = RULES.getOrDefault(type, Map.of()).get(propertyName);
        if (unused == null) {
            return false;
        }
        JsonNode value = ctxt.readTree(p);
        if (value != null && !unused.test(value)) {
            throw new ValidationException("`" + propertyName + "` is not supported by this server (given: " + abbreviated(value)
                    + "); leave it out" + hint(propertyName));
        }
        return true;
    }

    private static String hint(String name) {
        return switch (name) {
            case "do_sample" -> ", and set `temperature` to 0 for greedy decoding";
            case "top_n_tokens" -> ", and use `return_k_alternatives` (or `logprobs` on /v1/completions)";
            case "adapter_id" -> ", and name the adapter in `model`";
            case "functions", "function_call" -> ", and use `tools` and `tool_choice`";
            default -> "";
        };
    }

    private static String abbreviated(JsonNode value) {
        String s = value.toString();
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}

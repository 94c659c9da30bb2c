package dev.loraxj.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/** OpenAI's request and response bodies (snake_case on the wire, through {@link Json}). */
public final class OpenaiWire {

    private OpenaiWire() {
    }

    // Requests. Fields that OpenAI lets be of several types are JsonNode and read by OpenaiRequests.

    /** POST /v1/chat/completions, with LoRAX's extra fields (adapter_source ... ignore_eos_token). */
    public record ChatRequest(String model, List<ChatMessage> messages, Float temperature, Float topP, Integer n,
                              Integer maxTokens, Integer maxCompletionTokens, JsonNode stop, Boolean stream,
                              StreamOptions streamOptions, Float presencePenalty, Float frequencyPenalty,
                              Map<String, Float> logitBias, Boolean logprobs, Integer topLogprobs, Long seed,
                              String user, JsonNode responseFormat, JsonNode tools, String adapterSource,
                              String apiToken, Integer topK, Float repetitionPenalty, Boolean ignoreEosToken,
                              String cacheSalt) {
    }

    /** One message; content is a string, an array of text parts, or null. Clients echo assistant messages back with more fields. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record ChatMessage(String role, JsonNode content, String name, JsonNode toolCalls, String toolCallId) {
    }

    /** POST /v1/completions; prompt is a string or an array of strings. */
    public record CompletionRequest(String model, JsonNode prompt, String suffix, Integer maxTokens, Float temperature,
                                    Float topP, Integer n, Boolean stream, StreamOptions streamOptions, Integer logprobs,
                                    Boolean echo, JsonNode stop, Float presencePenalty, Float frequencyPenalty,
                                    Integer bestOf, Map<String, Float> logitBias, String user, Long seed,
                                    String adapterSource, String apiToken, Integer topK, Float repetitionPenalty,
                                    Boolean ignoreEosToken, String cacheSalt) {
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record StreamOptions(Boolean includeUsage) {
    }

    // Responses.

    public record Usage(int promptTokens, int completionTokens, int totalTokens) {
    }

    public record ChatCompletion(String id, String object, long created, String model, List<ChatChoice> choices,
                                 Usage usage) {
    }

    public record ChatChoice(int index, AssistantMessage message, ChatLogprobs logprobs, String finishReason) {
    }

    public record AssistantMessage(String role, String content) {
    }

    /** logprobs.content of a chat choice: one entry per generated token. */
    public record ChatLogprobs(List<TokenLogprob> content) {
    }

    public record TokenLogprob(String token, Float logprob, List<Integer> bytes,
                               @JsonInclude(JsonInclude.Include.NON_NULL) List<TokenLogprob> topLogprobs) {
    }

    public record ChatChunk(String id, String object, long created, String model, List<ChunkChoice> choices,
                            @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {
    }

    public record ChunkChoice(int index, Delta delta, ChatLogprobs logprobs, String finishReason) {
    }

    /** A chunk's delta: the role first, then content; the last chunk's delta is empty. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content) {
    }

    public record Completion(String id, String object, long created, String model, List<CompletionChoice> choices,
                             @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {
    }

    public record CompletionChoice(int index, String text, CompletionLogprobs logprobs, String finishReason) {
    }

    /** The legacy completions logprobs: parallel lists, top_logprobs as token text to logprob. */
    public record CompletionLogprobs(List<String> tokens, List<Float> tokenLogprobs,
                                     List<Map<String, Float>> topLogprobs, List<Integer> textOffset) {
    }

    public record Model(String id, String object, long created, String ownedBy,
                        @JsonInclude(JsonInclude.Include.NON_NULL) String parent) {
    }

    public record ModelList(String object, List<Model> data) {
    }

    public record ErrorBody(ErrorDetail error) {
    }

    public record ErrorDetail(String message, String type, String param, String code) {
    }
}

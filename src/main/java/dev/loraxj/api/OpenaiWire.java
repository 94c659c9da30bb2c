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
                              String user, JsonNode responseFormat, JsonNode tools, JsonNode toolChoice,
                              Boolean parallelToolCalls, String adapterSource,
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
                                    JsonNode responseFormat, String adapterSource, String apiToken, Integer topK, Float repetitionPenalty,
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

    /** The reply; content is null when the model answered with tool calls only. */
    public record AssistantMessage(String role, String content,
                                   @JsonInclude(JsonInclude.Include.NON_NULL) List<ToolCall> toolCalls) {
    }

    /** A call the model made: {@code arguments} is the JSON text of the arguments object. */
    public record ToolCall(String id, String type, FunctionCall function) {
    }

    public record FunctionCall(String name, String arguments) {
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

    /** A chunk's delta: the role first, then content or tool calls; the last chunk's delta is empty. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content, List<ToolCallDelta> toolCalls) {
        public Delta(String role, String content) {
            this(role, content, null);
        }
    }

    /**
     * A piece of tool call {@code index}: the first carries its id, type and name (and arguments ""),
     * later ones pieces of the arguments' text, as OpenAI's SDKs accumulate them.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ToolCallDelta(int index, String id, String type, FunctionDelta function) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record FunctionDelta(String name, String arguments) {
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

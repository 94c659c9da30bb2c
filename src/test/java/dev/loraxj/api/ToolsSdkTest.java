package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Structured outputs and a tool-calling round trip driven by the official OpenAI Java SDK, whole
 * and streamed (its ChatCompletionAccumulator assembles the tool-call deltas). stories260K knows
 * neither JSON nor tools: only the grammar makes these pass, so they wait for it.
 */
@QuarkusTest
class ToolsSdkTest {

    @TestHTTPResource("/")
    URI base;
    OpenAIClient openai;

    @BeforeAll
    static void adapter() throws Exception {
        ToolsApiTest.adapter();
    }

    @BeforeEach
    void connect() {
        new TestClient(base).awaitReady();
        openai = OpenAIOkHttpClient.builder().baseUrl(base.toString() + "v1").apiKey("sk-test").maxRetries(0).build();
    }

    @AfterEach
    void close() {
        openai.close();
    }

    static final Map<String, Object> PERSON = Map.of("type", "object",
            "properties", Map.of("name", Map.of("type", "string"), "age", Map.of("type", "integer")),
            "required", List.of("name", "age"), "additionalProperties", false);

    static ChatCompletionCreateParams.Builder ask(String text) {
        return ChatCompletionCreateParams.builder().model(ToolsApiTest.ADAPTER.toString()).addUserMessage(text).temperature(0.0)
                .maxCompletionTokens(160);
    }

    ChatCompletion streamed(ChatCompletionCreateParams params) {
        ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
        try (StreamResponse<ChatCompletionChunk> s = openai.chat().completions().createStreaming(params)) {
            s.stream().forEach(acc::accumulate);
        }
        return acc.chatCompletion();
    }

    static void isPerson(String content) throws Exception {
        JsonNode person = Json.MAPPER.readTree(content);
        assertTrue(person.path("name").isTextual() && person.path("age").isIntegralNumber(), content);
        assertEquals(2, person.size(), content);
    }

    @Test
    void aStrictJsonSchemaHoldsTheReplyWholeAndStreamed() throws Exception {
        ResponseFormatJsonSchema.JsonSchema.Schema.Builder schema = ResponseFormatJsonSchema.JsonSchema.Schema.builder();
        PERSON.forEach((k, v) -> schema.putAdditionalProperty(k, JsonValue.from(v)));
        ChatCompletionCreateParams params = ask("Who is Lily?").responseFormat(ResponseFormatJsonSchema.builder()
                .jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder().name("person").schema(schema.build()).strict(true).build()).build())
                .build();
        ChatCompletion whole = openai.chat().completions().create(params);
        isPerson(whole.choices().getFirst().message().content().orElseThrow());
        ChatCompletion stream = streamed(params);
        assertEquals(whole.choices().getFirst().message().content(), stream.choices().getFirst().message().content());
    }

    @Test
    void aNamedToolIsCalledAndItsAnswerComesBackAsText() throws Exception {
        FunctionParameters.Builder parameters = FunctionParameters.builder();
        Map.of("type", "object", "properties", Map.of("city", Map.of("type", "string")), "required", List.of("city"))
                .forEach((k, v) -> parameters.putAdditionalProperty(k, JsonValue.from(v)));
        ChatCompletionFunctionTool weather = ChatCompletionFunctionTool.builder()
                .function(FunctionDefinition.builder().name("get_weather").parameters(parameters.build()).build()).build();
        ChatCompletionCreateParams call = ask("Weather in Paris?").addTool(weather)
                .toolChoice(ChatCompletionNamedToolChoice.builder()
                        .function(ChatCompletionNamedToolChoice.Function.builder().name("get_weather").build()).build())
                .build();
        for (ChatCompletion c : List.of(openai.chat().completions().create(call), streamed(call))) {
            ChatCompletion.Choice choice = c.choices().getFirst();
            assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
            ChatCompletionMessage message = choice.message();
            ChatCompletionMessageFunctionToolCall tool = message.toolCalls().orElseThrow().getFirst().asFunction();
            assertTrue(tool.id().matches("call_[A-Za-z0-9]{24}"), tool.id());
            assertEquals("get_weather", tool.function().name());
            assertTrue(Json.MAPPER.readTree(tool.function().arguments()).path("city").isTextual(), tool.function().arguments());

            ChatCompletionCreateParams answer = ask("Weather in Paris?").addTool(weather).addMessage(message)
                    .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(tool.id()).content("21 C").build())
                    .toolChoice(com.openai.models.chat.completions.ChatCompletionToolChoiceOption.Auto.NONE).build();
            ChatCompletion reply = openai.chat().completions().create(answer);
            assertTrue(reply.choices().getFirst().message().content().isPresent());
            assertTrue(reply.choices().getFirst().message().toolCalls().orElse(List.of()).isEmpty());
        }
    }
}

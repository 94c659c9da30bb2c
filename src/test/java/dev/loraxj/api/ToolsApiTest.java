package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tools and structured-output shapes over HTTP, before any grammar: the request shapes are read or
 * refused naming the field, the tools and the tool messages reach the chat template (an adapter
 * shipping Qwen 2.5's template), and a stream read for tool calls agrees with the whole reply.
 */
@QuarkusTest
class ToolsApiTest {

    /** lora-name-max's weights with a Hermes-style tool template of its own. */
    static final Path ADAPTER = AdapterApiTest.TEST_ADAPTERS.resolve("tools-hermes");
    /**
     * Qwen 2.5's template (chat-templates/qwen2.5.jinja, held to transformers' rendering by
     * OpenaiToolTemplateTest) with its system text cut short: stories260K's context is 512 tokens.
     */
    static final String TEMPLATE = """
            {%- if tools %}
                {{- '<|im_start|>system\\n# Tools\\n<tools>' }}
                {%- for tool in tools %}
                    {{- "\\n" }}
                    {{- tool | tojson }}
                {%- endfor %}
                {{- "\\n</tools><|im_end|>\\n" }}
            {%- endif %}
            {%- for message in messages %}
                {%- if (message.role == "user") or (message.role == "assistant" and not message.tool_calls) %}
                    {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
                {%- elif message.role == "assistant" %}
                    {{- '<|im_start|>' + message.role }}
                    {%- if message.content %}
                        {{- '\\n' + message.content }}
                    {%- endif %}
                    {%- for tool_call in message.tool_calls %}
                        {%- if tool_call.function is defined %}
                            {%- set tool_call = tool_call.function %}
                        {%- endif %}
                        {{- '\\n<tool_call>\\n{"name": "' }}
                        {{- tool_call.name }}
                        {{- '", "arguments": ' }}
                        {{- tool_call.arguments | tojson }}
                        {{- '}\\n</tool_call>' }}
                    {%- endfor %}
                    {{- '<|im_end|>\\n' }}
                {%- elif message.role == "tool" %}
                    {{- '<|im_start|>user\\n<tool_response>\\n' + message.content + '\\n</tool_response><|im_end|>\\n' }}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|im_start|>assistant\\n' }}
            {%- endif %}
            """;
    static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
            + "\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}]";
    static final String ROUND_TRIP = "[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
            + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
            + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
            + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"21 C\"}]";
    /** What TEMPLATE renders for ROUND_TRIP with TOOLS (arguments parsed from their JSON text, as transformers' callers pass them). */
    static final String ROUND_TRIP_PROMPT = "<|im_start|>system\n# Tools\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
            + "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\n</tools><|im_end|>\n"
            + "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
            + "{\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n21 C\n</tool_response><|im_end|>\n<|im_start|>assistant\n";

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeAll
    static void adapter() throws Exception {
        Files.createDirectories(ADAPTER);
        for (String f : new String[] {"adapter_config.json", "adapter_model.safetensors"}) {
            Files.copy(SharedAssets.adapter("lora-name-max").resolve(f), ADAPTER.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        Files.writeString(ADAPTER.resolve("tokenizer_config.json"),
                Json.MAPPER.createObjectNode().put("chat_template", TEMPLATE).toString());
    }

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    static String chat(String messages, String more) {
        return "{\"model\":" + GenerateApiTest.quote(ADAPTER.toString()) + ",\"messages\":" + messages + "," + more + "}";
    }

    @Test
    void aToolConversationReachesTheTemplateAsTransformersRendersIt() {
        TestClient.Reply chat = client.post("/v1/chat/completions", chat(ROUND_TRIP,
                "\"tools\":" + TOOLS + ",\"tool_choice\":\"none\",\"temperature\":0,\"max_tokens\":6"));
        assertEquals(200, chat.status(), chat.body());
        TestClient.Reply lorax = client.post("/generate", "{\"inputs\":" + GenerateApiTest.quote(ROUND_TRIP_PROMPT)
                + ",\"parameters\":{\"adapter_source\":\"local\",\"adapter_id\":" + GenerateApiTest.quote(ADAPTER.toString())
                + ",\"max_new_tokens\":6}}");
        assertEquals(200, lorax.status(), lorax.body());
        assertEquals(lorax.headers().firstValue("x-prompt-tokens").orElse(""), chat.json().path("usage").path("prompt_tokens").asText(),
                "the rendered prompt has the tools and the tool messages");
        JsonNode message = chat.json().path("choices").get(0).path("message");
        assertEquals(lorax.json().path("generated_text").asText(), message.path("content").asText());
        assertFalse(message.has("tool_calls"), "tool_choice none: the reply is text");
    }

    @Test
    void aStreamReadForToolCallsAgreesWithTheWholeReply() {
        String body = chat("[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}]",
                "\"tools\":" + TOOLS + ",\"temperature\":0,\"max_tokens\":24");
        TestClient.Reply whole = client.post("/v1/chat/completions", body);
        assertEquals(200, whole.status(), whole.body());
        TestClient.Reply stream = client.post("/v1/chat/completions", body.replace("\"temperature\"", "\"stream\":true,\"temperature\""));
        assertEquals(200, stream.status(), stream.body());
        assertTrue(stream.body().strip().endsWith("data: [DONE]"), stream.body());
        List<JsonNode> events = TestClient.sseEvents(stream.body().strip().substring(0, stream.body().strip().length() - "data: [DONE]".length()));
        JsonNode first = events.getFirst().path("choices").get(0).path("delta");
        assertEquals("assistant", first.path("role").asText());
        assertFalse(first.has("content"), "with tools the content starts unset (it stays null for a reply of calls only)");
        StringBuilder content = new StringBuilder();
        boolean anyContent = false;
        String finish = null;
        List<StringBuilder> arguments = new java.util.ArrayList<>();
        List<String> names = new java.util.ArrayList<>();
        for (JsonNode e : events) {
            JsonNode choice = e.path("choices").get(0);
            JsonNode delta = choice.path("delta");
            if (delta.path("content").isTextual()) {
                anyContent = true;
                content.append(delta.path("content").asText());
            }
            for (JsonNode call : delta.path("tool_calls")) {
                int i = call.path("index").asInt();
                if (call.has("id")) {
                    assertEquals(names.size(), i);
                    assertTrue(call.path("id").asText().matches("call_[A-Za-z0-9]{24}"), call.toString());
                    assertEquals("function", call.path("type").asText());
                    names.add(call.path("function").path("name").asText());
                    arguments.add(new StringBuilder());
                }
                arguments.get(i).append(call.path("function").path("arguments").asText());
            }
            if (!choice.path("finish_reason").isNull()) {
                finish = choice.path("finish_reason").asText();
            }
        }
        JsonNode choice = whole.json().path("choices").get(0);
        JsonNode message = choice.path("message");
        assertEquals(message.path("content").isNull() ? null : message.path("content").asText(), anyContent ? content.toString() : null);
        assertEquals(choice.path("finish_reason").asText(), finish);
        assertEquals(message.path("tool_calls").size(), names.size());
        for (int i = 0; i < names.size(); i++) {
            JsonNode call = message.path("tool_calls").get(i);
            assertEquals(call.path("function").path("name").asText(), names.get(i));
            assertEquals(call.path("function").path("arguments").asText(), arguments.get(i).toString());
        }
    }

    @Test
    void badShapesAreRefusedNamingTheFieldOnEveryRoute() {
        String user = "[{\"role\":\"user\",\"content\":\"Hi\"}]";
        String[][] openai = {
                {chat(user, "\"tools\":" + OpenaiToolTemplateTest.TOOLS + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_news\"}}"),
                        "tool_choice", "get_news"},
                {chat(user, "\"tools\":" + OpenaiToolTemplateTest.TOOLS + ",\"response_format\":{\"type\":\"json_object\"}"),
                        "response_format", "tool_choice"},
                {chat(user, "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{}}}"),
                        "response_format.json_schema.name", "required"},
                {chat(user, "\"response_format\":{\"type\":\"xml\"}"), "response_format.type", "xml"},
                {chat("[{\"role\":\"tool\",\"content\":\"21\"}]", "\"max_tokens\":2"), "messages[0].tool_call_id", "required"},
                {chat(user, "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"x\"}}]"),
                        "tools[0].function.parameters", "must be a JSON schema object"},
                {"{\"model\":\"\",\"prompt\":\"Once\",\"response_format\":{\"type\":\"json_schema\"}}", "response_format.json_schema", "required"},
        };
        for (String[] c : openai) {
            String path = c[0].contains("\"prompt\"") ? "/v1/completions" : "/v1/chat/completions";
            TestClient.Reply r = client.post(path, c[0]);
            assertEquals(400, r.status(), r.body());
            JsonNode error = r.json().path("error");
            assertEquals(c[1], error.path("param").asText(), r.body());
            assertTrue(error.path("message").asText().contains(c[2]), r.body());
            assertEquals("invalid_request_error", error.path("type").asText());
        }
        String[][] lorax = {
                {"\"response_format\":{\"type\":\"json_object\",\"schema\":[]}", "`response_format.schema` must be a JSON schema object"},
                {"\"response_format\":{\"schema\":{}}", "`response_format.type` is required"},
                {"\"grammar\":{\"type\":\"regex\",\"value\":1}", "`grammar.value` must be a non-empty regular expression"},
                {"\"grammar\":{\"type\":\"json\",\"value\":{}},\"response_format\":{\"type\":\"json_object\"}", "at most one of them"},
        };
        for (String[] c : lorax) {
            TestClient.Reply r = client.post("/generate", GenerateApiTest.body("Once upon a time", c[0]));
            assertEquals(422, r.status(), r.body());
            assertEquals("validation", r.json().path("error_type").asText());
            assertTrue(r.json().path("error").asText().contains(c[1]), r.body());
        }
    }
}

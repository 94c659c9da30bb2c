package dev.loraxj.api;

import dev.loraxj.grammar.ConstraintSpec;
import dev.loraxj.model.ChatTemplate;
import dev.loraxj.service.ValidationException;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tool-calling conversation rendered with Qwen 2.5's template (chat-templates/qwen2.5.jinja) as
 * transformers renders it: the expected prompts were rendered by Jinja2 3.1 with transformers'
 * settings (trim_blocks, lstrip_blocks, tojson as json.dumps with ensure_ascii=False).
 */
class OpenaiToolTemplateTest {

    static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"The weather in a city\","
            + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"unit\":{\"type\":\"string\",\"enum\":[\"c\",\"f\"]}},"
            + "\"required\":[\"city\"]}}},{\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]";
    /** The client sends arguments as JSON text, as OpenAI's API returned them. */
    static final String ROUND_TRIP = "[{\"role\":\"user\",\"content\":\"Weather in Paris and the time?\"},"
            + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
            + "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\",\\\"unit\\\":\\\"c\\\"}\"}},"
            + "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},"
            + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"temp\\\": 21}\"},"
            + "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"12:00\"}]";
    static final String SYSTEM_WITH_TOOLS = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\n"
            + "You may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"The weather in a city\", \"parameters\": {\"type\": \"object\", "
            + "\"properties\": {\"city\": {\"type\": \"string\"}, \"unit\": {\"type\": \"string\", \"enum\": [\"c\", \"f\"]}}, \"required\": [\"city\"]}}}\n"
            + "{\"type\": \"function\", \"function\": {\"name\": \"get_time\", \"parameters\": {\"type\": \"object\", \"properties\": {}}}}\n</tools>\n\n"
            + "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
            + "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n";
    static final String ROUND_TRIP_PROMPT = SYSTEM_WITH_TOOLS
            + "<|im_start|>user\nWeather in Paris and the time?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n"
            + "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"c\"}}\n</tool_call>\n<tool_call>\n"
            + "{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n"
            + "</tool_response>\n<tool_response>\n12:00\n</tool_response><|im_end|>\n<|im_start|>assistant\n";

    static ChatTemplate qwen() {
        try {
            return ChatTemplate.load(Path.of(OpenaiToolTemplateTest.class.getResource("/chat-templates/qwen2.5.jinja").toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static OpenaiWire.ChatRequest request(String messages, String more) {
        return Json.parse(Buffer.buffer("{\"model\":\"\",\"messages\":" + messages + (more.isEmpty() ? "" : "," + more) + "}"),
                OpenaiWire.ChatRequest.class);
    }

    static String render(OpenaiWire.ChatRequest r) {
        OpenaiTools tools = OpenaiTools.of(r.tools(), r.toolChoice(), r.parallelToolCalls());
        return qwen().render(OpenaiChatPrompt.variables(OpenaiRequests.messages(r.messages()), tools, "", ""));
    }

    @Test
    void aToolRoundTripRendersAsTransformersRendersIt() {
        assertEquals(ROUND_TRIP_PROMPT, render(request(ROUND_TRIP, "\"tools\":" + TOOLS)));
    }

    @Test
    void toolChoiceNoneStillShowsTheToolsButHoldsTheReplyToNothing() {
        OpenaiWire.ChatRequest r = request("[{\"role\":\"user\",\"content\":\"Hi\"}]", "\"tools\":" + TOOLS + ",\"tool_choice\":\"none\"");
        assertEquals(SYSTEM_WITH_TOOLS + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", render(r));
        assertNull(OpenaiTools.of(r.tools(), r.toolChoice(), r.parallelToolCalls()).constraint());
    }

    @Test
    void withoutToolsTheTemplateTakesItsPlainBranch() {
        assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", render(request("[{\"role\":\"user\",\"content\":\"Hi\"}]", "")));
    }

    @Test
    void toolChoiceBecomesTheConstraint() {
        List<ConstraintSpec.Function> functions = OpenaiTools.of(request("[]", "\"tools\":" + TOOLS).tools(), null, null).constraint().functions();
        assertEquals(List.of("get_weather", "get_time"), functions.stream().map(ConstraintSpec.Function::name).toList());
        assertEquals("object", functions.getFirst().parameters().path("type").asText());
        OpenaiWire.ChatRequest named = request("[]", "\"tools\":" + TOOLS
                + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}},\"parallel_tool_calls\":false");
        assertEquals(new ConstraintSpec.ToolCalls(functions, ConstraintSpec.ToolChoice.NAMED, "get_time", false),
                OpenaiTools.of(named.tools(), named.toolChoice(), named.parallelToolCalls()).constraint());
        OpenaiWire.ChatRequest required = request("[]", "\"tools\":" + TOOLS + ",\"tool_choice\":\"required\"");
        assertEquals(new ConstraintSpec.ToolCalls(functions, ConstraintSpec.ToolChoice.REQUIRED, null, true),
                OpenaiTools.of(required.tools(), required.toolChoice(), required.parallelToolCalls()).constraint());
    }

    @Test
    void badToolsAndToolMessagesAreRefusedNamingTheField() {
        String[][] cases = {
                {"\"tools\":" + TOOLS + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_news\"}}",
                        "`tool_choice` names the function `get_news`, which is not in `tools`"},
                {"\"tool_choice\":\"required\"", "`tool_choice` \"required\" needs `tools`"},
                {"\"tools\":" + TOOLS + ",\"tool_choice\":\"sometimes\"", "`tool_choice` must be none, auto, required"},
                {"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"bad name\"}}]", "`tools[0].function.name` must be 1 to 64"},
                {"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":[]}}]", "`tools[0].function.parameters` must be a JSON schema object"},
                {"\"tools\":[{\"type\":\"code_interpreter\"}]", "`tools[0].type` must be \"function\""},
                {"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]",
                        "`tools[1].function.name`: the function `f` is listed twice"},
                {"\"tools\":{}", "`tools` must be an array"},
        };
        for (String[] c : cases) {
            OpenaiWire.ChatRequest r = request("[{\"role\":\"user\",\"content\":\"Hi\"}]", c[0]);
            ValidationException e = assertThrows(ValidationException.class, () -> OpenaiTools.of(r.tools(), r.toolChoice(), r.parallelToolCalls()), c[0]);
            assertTrue(e.getMessage().startsWith(c[1]), c[0] + " -> " + e.getMessage());
        }
        String[][] messages = {
                {"[{\"role\":\"tool\",\"content\":\"21\"}]", "`messages[0].tool_call_id` is required"},
                {"[{\"role\":\"user\",\"content\":\"x\",\"tool_calls\":[]}]", "`messages[0].tool_calls`: only assistant messages"},
                {"[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"function\":{\"arguments\":\"{}\"}}]}]", "`messages[0].tool_calls[0]` must be"},
                {"[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":3}}]}]",
                        "`messages[0].tool_calls[0].function.arguments` must be a JSON string or an object"},
        };
        for (String[] c : messages) {
            OpenaiWire.ChatRequest r = request(c[0], "");
            ValidationException e = assertThrows(ValidationException.class, () -> OpenaiRequests.messages(r.messages()), c[0]);
            assertTrue(e.getMessage().startsWith(c[1]), c[0] + " -> " + e.getMessage());
        }
    }
}

package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Generated text in Hermes' tool-call tags read back into content and calls, whole and piece by piece. */
class ToolCallTextTest {

    static final String WEATHER = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"c\"}}\n</tool_call>";
    static final String TIME = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>";

    @Test
    void callsAreReadWithTheirArgumentsTextAndNoContent() {
        ToolCallText.Reply r = ToolCallText.parse(WEATHER + "\n" + TIME);
        assertNull(r.content());
        assertEquals(List.of(new ToolCallText.Call("get_weather", "{\"city\": \"Paris\", \"unit\": \"c\"}"),
                new ToolCallText.Call("get_time", "{}")), r.calls());
    }

    @Test
    void textBeforeTheFirstTagIsContentLessTheWhitespaceBeforeTheTag() {
        ToolCallText.Reply r = ToolCallText.parse("Let me look that up.\n\n" + WEATHER + "\n");
        assertEquals("Let me look that up.", r.content());
        assertEquals(1, r.calls().size());
        assertNull(ToolCallText.parse("  \n" + WEATHER).content());
    }

    @Test
    void textWithoutCallsIsContentExactlyEvenWithTagLikePieces() {
        for (String text : new String[] {"Once upon a time", "a < b and <tool or <tool_call without end", "ends with <tool_",
                "trailing spaces  \n", "", "<tool_response>x</tool_response>", "<tool_call>{\"name\": \"f\""}) {
            ToolCallText.Reply r = ToolCallText.parse(text);
            assertTrue(r.calls().isEmpty(), text);
            assertEquals(text.isEmpty() ? null : text, r.content(), text);
        }
    }

    @Test
    void aStreamHoldsBackAPossibleTagAndSendsArgumentsAsTheyCome() {
        ToolCallText t = new ToolCallText();
        assertEquals(List.of(new ToolCallText.Content("Hi")), t.push("Hi \n<tool_"));
        assertEquals(List.of(new ToolCallText.CallStart(0, "f"), new ToolCallText.Arguments(0, "{")),
                t.push("call>{\"name\": \"f\", \"arguments\": {"));
        // a brace and a closing tag inside a string are the arguments' text, not their end
        assertEquals(List.of(new ToolCallText.Arguments(0, "\"a\": \"}</tool_call>\\\"\"")), t.push("\"a\": \"}</tool_call>\\\"\""));
        assertEquals(List.of(new ToolCallText.Arguments(0, "}")), t.push("}}\n</tool_"));
        assertEquals(List.of(), t.push("call>\n"));
        assertEquals(List.of(), t.finish());
        assertEquals(1, t.calls());
    }

    @Test
    void aStreamAgreesWithTheWholeTextAtEverySplit() {
        String[] texts = {WEATHER, WEATHER + "\n" + TIME, "Sure.\n" + TIME + "\n" + WEATHER + "\n",
                "<tool_call>{\"arguments\": {\"x\": [1, {\"y\": \"<\"}]}, \"name\": \"late_name\"}</tool_call>",
                "<tool_call>not json</tool_call> then text", "x <tool_call>{\"name\": \"cut\", \"arguments\": {\"a\": \"b",
                "<tool_call>{\"name\": \"n\\u0041me\", \"arguments\": {\"s\": \"\\\\\\\"}\"}}</tool_call>",
                "plain story with < and <t and </tool_call> in it"};
        SplittableRandom random = new SplittableRandom(15);
        for (String text : texts) {
            ToolCallText.Reply whole = ToolCallText.parse(text);
            for (int trial = 0; trial < 300; trial++) {
                ToolCallText t = new ToolCallText();
                List<ToolCallText.Piece> pieces = new ArrayList<>();
                int at = 0;
                while (at < text.length()) {
                    int next = Math.min(text.length(), at + 1 + random.nextInt(trial % 2 == 0 ? 3 : 12));
                    pieces.addAll(t.push(text.substring(at, next)));
                    at = next;
                }
                pieces.addAll(t.finish());
                assertEquals(whole, joined(pieces), text + " (trial " + trial + ")");
            }
        }
    }

    @Test
    void callsInOtherKeyOrdersAreReadWholeAndBlocksThatAreNoCallStayContent() {
        ToolCallText.Reply r = ToolCallText.parse("<tool_call>{\"arguments\": {\"q\": 1}, \"name\": \"search\"}</tool_call>");
        assertEquals(List.of(new ToolCallText.Call("search", "{\"q\":1}")), r.calls());
        ToolCallText.Reply stringArgs = ToolCallText.parse("<tool_call>{\"name\": \"s\", \"arguments\": \"{\\\"q\\\": 2}\"}</tool_call>");
        assertEquals(List.of(new ToolCallText.Call("s", "{\"q\": 2}")), stringArgs.calls());
        ToolCallText.Reply bad = ToolCallText.parse("A <tool_call>{\"name\": 3}</tool_call>");
        assertTrue(bad.calls().isEmpty());
        assertEquals("A<tool_call>{\"name\": 3}</tool_call>", bad.content());
    }

    @Test
    void aCallCutShortKeepsItsArgumentsAsFarAsTheyCame() {
        ToolCallText.Reply r = ToolCallText.parse("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Pa");
        assertEquals(List.of(new ToolCallText.Call("get_weather", "{\"city\": \"Pa")), r.calls());
    }

    @Test
    void hundredsOfParallelCallsAreReadInOrderWithValidArguments() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 500; i++) {
            sb.append(i == 0 ? "" : "\n").append("<tool_call>\n{\"name\": \"f").append(i).append("\", \"arguments\": {\"i\": ").append(i)
                    .append(", \"s\": \"\\\"{[<\"}}\n</tool_call>");
        }
        ToolCallText.Reply r = ToolCallText.parse(sb.toString());
        assertNull(r.content());
        assertEquals(500, r.calls().size());
        for (int i = 0; i < 500; i++) {
            assertEquals("f" + i, r.calls().get(i).name());
            JsonNode args = Json.MAPPER.readTree(r.calls().get(i).arguments());
            assertEquals(i, args.path("i").asInt());
            assertEquals("\"{[<", args.path("s").asText());
        }
        assertFalse(r.calls().stream().anyMatch(c -> c.arguments().contains("tool_call")));
    }

    static ToolCallText.Reply joined(List<ToolCallText.Piece> pieces) {
        StringBuilder content = new StringBuilder();
        List<String> names = new ArrayList<>();
        List<StringBuilder> args = new ArrayList<>();
        for (ToolCallText.Piece p : pieces) {
            switch (p) {
                case ToolCallText.Content c -> {
                    assertFalse(c.text().isEmpty(), "no empty pieces");
                    content.append(c.text());
                }
                case ToolCallText.CallStart s -> {
                    assertEquals(names.size(), s.index(), "calls start in order");
                    names.add(s.name());
                    args.add(new StringBuilder());
                }
                case ToolCallText.Arguments a -> args.get(a.index()).append(a.text());
            }
        }
        List<ToolCallText.Call> calls = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            calls.add(new ToolCallText.Call(names.get(i), args.get(i).toString()));
        }
        return new ToolCallText.Reply(content.isEmpty() ? null : content.toString(), calls);
    }
}

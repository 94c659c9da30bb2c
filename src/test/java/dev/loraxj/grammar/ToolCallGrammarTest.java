package dev.loraxj.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tool calls under the grammar: every call names a tool and its arguments validate; `required`, named and `auto` as OpenAI defines them. */
class ToolCallGrammarTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static final Map<String, JsonNode> TOOLS = Map.of(
            "get_weather", json("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":12},"
                    + "\"unit\":{\"enum\":[\"C\",\"F\"]}},\"required\":[\"city\"],\"additionalProperties\":false}"),
            "add", json("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\"}},"
                    + "\"required\":[\"a\",\"b\"]}"));

    private static List<ConstraintSpec.Function> functions() {
        return TOOLS.entrySet().stream().map(e -> new ConstraintSpec.Function(e.getKey(), e.getValue())).toList();
    }

    /** Text before the first tag, then the calls, each parsed by Jackson: an independent reading of the format. */
    private record Parsed(String content, List<JsonNode> calls, String rest) {
        static Parsed of(String text) {
            int first = text.indexOf(ToolCallFormat.OPEN);
            if (first < 0) {
                return new Parsed(text, List.of(), "");
            }
            List<JsonNode> calls = new ArrayList<>();
            int at = first;
            while (at >= 0 && text.startsWith(ToolCallFormat.OPEN, at)) {
                int close = text.indexOf(ToolCallFormat.CLOSE, at);
                assertTrue(close > 0, "unclosed call in " + text);
                calls.add(json(text.substring(at + ToolCallFormat.OPEN.length(), close)));
                at = close + ToolCallFormat.CLOSE.length();
                if (at < text.length() && text.charAt(at) == '\n') {
                    at++;
                }
            }
            return new Parsed(text.substring(0, first), calls, text.substring(Math.min(at, text.length())));
        }
    }

    private static void assertCallsValid(Parsed p, String context) {
        for (JsonNode call : p.calls()) {
            String name = call.get("name").asText();
            assertTrue(TOOLS.containsKey(name), context + ": unknown tool " + name);
            SchemaJudge.assertValid(TOOLS.get(name), call.get("arguments").toString(), context);
            assertEquals(2, call.size(), context + ": a call is name and arguments only: " + call);
        }
        assertEquals("", p.rest(), context + ": nothing after the calls");
    }

    @Test
    void requiredGivesExactlyOneValidCallAndParallelMayGiveMore() {
        for (TokenVocabulary vocab : List.of(Vocabularies.synthetic(), Vocabularies.stories260K())) {
            Grammar one = Grammars.compile(new ConstraintSpec.ToolCalls(functions(), ConstraintSpec.ToolChoice.REQUIRED, null, false), vocab);
            Grammar many = Grammars.compile(new ConstraintSpec.ToolCalls(functions(), ConstraintSpec.ToolChoice.REQUIRED, null, true), vocab);
            int severalSeen = 0;
            for (long seed = 0; seed < 60; seed++) {
                Parsed p = Parsed.of(Walk.run(one, vocab, seed, 300).text());
                assertEquals(1, p.calls().size(), "seed " + seed);
                assertTrue(p.content().isBlank(), "required: no text before the call: " + p.content());
                assertCallsValid(p, "one, seed " + seed);
                Parsed q = Parsed.of(Walk.run(many, vocab, seed, 400).text());
                assertFalse(q.calls().isEmpty(), "seed " + seed);
                assertCallsValid(q, "parallel, seed " + seed);
                severalSeen += q.calls().size() > 1 ? 1 : 0;
            }
            assertTrue(severalSeen > 0, "parallel calls happen");
        }
    }

    @Test
    void aNamedChoiceCallsOnlyThatTool() {
        TokenVocabulary vocab = Vocabularies.synthetic();
        Grammar g = Grammars.compile(new ConstraintSpec.ToolCalls(functions(), ConstraintSpec.ToolChoice.NAMED, "add", true), vocab);
        for (long seed = 0; seed < 40; seed++) {
            Parsed p = Parsed.of(Walk.run(g, vocab, seed, 300).text());
            assertCallsValid(p, "seed " + seed);
            p.calls().forEach(c -> assertEquals("add", c.get("name").asText()));
        }
        assertTrue(assertThrows(GrammarException.class, () -> Grammars.check(new ConstraintSpec.ToolCalls(functions(),
                ConstraintSpec.ToolChoice.NAMED, "missing", false))).getMessage().contains("missing"));
    }

    /** auto: free text, and once the opening tag is written the call is held to its schema. */
    @Test
    void autoAllowsTextAndHoldsAStartedCallToItsSchema() {
        TokenVocabulary vocab = Vocabularies.synthetic();
        Grammar g = Grammars.compile(new ConstraintSpec.ToolCalls(functions(), ConstraintSpec.ToolChoice.AUTO, null, false), vocab);
        int texts = 0;
        int calls = 0;
        for (long seed = 0; seed < 200; seed++) {
            Parsed p = Parsed.of(Walk.run(g, vocab, seed, 200).text());
            assertFalse(p.content().contains(ToolCallFormat.OPEN));
            assertCallsValid(p, "seed " + seed);
            texts += p.calls().isEmpty() ? 1 : 0;
            calls += p.calls().size();
        }
        assertTrue(texts > 0, "some walks answer in text");
        // from the opening tag on, only the call format is allowed (the synthetic vocabulary's byte b is id 1 + b)
        GrammarState st = g.start();
        for (byte b : "It is sunny. <tool_call>".getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            st.accept(1 + (b & 0xff));
        }
        assertFalse(st.complete(), "a started call must be finished");
        assertTrue(st.allows(1 + '{'), "the call's JSON comes next");
        assertFalse(st.allows(1 + 'x'), "no free text inside a call");
        assertTrue(calls > 0, "some walks call a tool");
    }
}

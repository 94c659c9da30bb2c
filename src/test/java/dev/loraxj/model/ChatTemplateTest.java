package dev.loraxj.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real models' chat templates, as they ship in tokenizer_config.json (src/test/resources/chat-templates),
 * render byte for byte what transformers' apply_chat_template renders. Each expected string is
 * worked out by hand from the template.
 */
class ChatTemplateTest {

    static final List<Map<String, Object>> CONVERSATION = List.of(
            Map.of("role", "system", "content", "You are a pirate."),
            Map.of("role", "user", "content", "Hello!"),
            Map.of("role", "assistant", "content", "Ahoy! How can I help?"),
            Map.of("role", "user", "content", "  Tell me a joke.  "));

    static ChatTemplate template(String name) {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/chat-templates/" + name)) {
            return ChatTemplate.of(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void llama3RendersHeadersTrimmedContentAndTheAssistantHeader() {
        // bos only before the first message; `| trim` binds to the content alone; generation prompt appended
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a pirate.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\nAhoy! How can I help?<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                template("llama3.jinja").render(CONVERSATION, true, "<|begin_of_text|>", "<|eot_id|>"));
    }

    @Test
    void qwen2ChatMlKeepsContentAsIsAndAddsADefaultSystemOnlyWithoutOne() {
        assertEquals("<|im_start|>system\nYou are a pirate.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n"
                        + "<|im_start|>assistant\nAhoy! How can I help?<|im_end|>\n"
                        + "<|im_start|>user\n  Tell me a joke.  <|im_end|>\n<|im_start|>assistant\n",
                template("qwen2.jinja").render(CONVERSATION, true, "", "<|im_end|>"));
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n",
                template("qwen2.jinja").render(CONVERSATION.subList(1, 2), false, "", "<|im_end|>"));
    }

    @Test
    void mistralV03PutsTheSystemMessageIntoTheLastUserTurn() {
        // namespace(), selectattr, `not tools is defined`, message == user_messages[-1], "\n\n" escapes
        assertEquals("<s>[INST]Hello![/INST]Ahoy! How can I help?</s>[INST]You are a pirate.\n\n  Tell me a joke.  [/INST]",
                template("mistral-v0.3.jinja").render(CONVERSATION, true, "<s>", "</s>"));
    }

    @Test
    void mistralV03PrintsToolsWithTransformersTojson() throws Exception {
        Object tools = new ObjectMapper().readValue("[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
                + " \"description\": \"Weather in a city\", \"parameters\": {\"type\": \"object\", \"properties\":"
                + " {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}]", List.class);
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", List.of(Map.of("role", "user", "content", "Weather in Paris?")));
        vars.put("tools", tools);
        vars.put("bos_token", "<s>");
        vars.put("eos_token", "</s>");
        // tojson is Python's json.dumps: ", " and ": " separators; the "}}" literal closes each tool
        assertEquals("<s>[AVAILABLE_TOOLS][{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
                        + "\"description\": \"Weather in a city\", \"parameters\": {\"type\": \"object\", \"properties\": "
                        + "{\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}][/AVAILABLE_TOOLS][INST]Weather in Paris?[/INST]",
                template("mistral-v0.3.jinja").render(vars));
    }

    @Test
    void gemma3FoldsTheSystemMessageIntoTheFirstUserTurn() {
        // the "-" controls remove the template's indentation and newlines; content is trimmed
        assertEquals("<bos><start_of_turn>user\nYou are a pirate.\n\nHello!<end_of_turn>\n"
                        + "<start_of_turn>model\nAhoy! How can I help?<end_of_turn>\n"
                        + "<start_of_turn>user\nTell me a joke.<end_of_turn>\n<start_of_turn>model\n",
                template("gemma3.jinja").render(CONVERSATION, true, "<bos>", "<eos>"));
    }

    @Test
    void gemma2RefusesASystemMessageWithItsOwnWords() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> template("gemma2.jinja").render(CONVERSATION, true, "<bos>", "<eos>"));
        assertEquals("System role not supported", e.getMessage());
        assertEquals("<bos><start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\nAhoy! How can I help?<end_of_turn>\n"
                        + "<start_of_turn>user\nTell me a joke.<end_of_turn>\n<start_of_turn>model\n",
                template("gemma2.jinja").render(CONVERSATION.subList(1, 4), true, "<bos>", "<eos>"));
    }

    @Test
    void llama2UsesPythonStrip() {
        assertEquals("<s>[INST] <<SYS>>\nYou are a pirate.\n<</SYS>>\n\nHello! [/INST] Ahoy! How can I help? </s>"
                        + "<s>[INST] Tell me a joke. [/INST]",
                template("llama2.jinja").render(CONVERSATION, true, "<s>", "</s>"));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> template("llama2.jinja")
                .render(List.of(Map.of("role", "user", "content", "a"), Map.of("role", "user", "content", "b")), true, "<s>", "</s>"));
        assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());
    }

    static String render(String template) {
        return ChatTemplate.of(template).render(List.of(Map.of("role", "user", "content", "  Hi there  ")), true, "<s>", "</s>");
    }

    @Test
    void pythonStringMethodsBehaveAsPython() {
        assertEquals("Hi there|Hi there  |  Hi there", render("{{ messages[0].content.strip() }}|{{ messages[0].content.lstrip() }}|{{ messages[0].content.rstrip() }}"));
        assertEquals("hi", render("{{ 'xxhixx'.strip('x') }}"));
        assertEquals("True False True", render("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith('b') }} {{ 'abc'.startswith(('x', 'a')) }}"));
        assertEquals("HI hi Hello World Hello", render("{{ 'hi'.upper() }} {{ 'HI'.lower() }} {{ 'hello wORLD'.title() }} {{ 'hELLO'.capitalize() }}"));
        assertEquals("a|b|c a|b.c", render("{{ ' a  b c '.split() | join('|') }} {{ 'a.b.c'.split('.', 1) | join('|') }}"));
        assertEquals("a-b-c a-bXc", render("{{ 'aXbXc'.replace('X', '-') }} {{ 'aXbXc'.replace('X', '-', 1) }}"));
        assertEquals("2 2 a, b", render("{{ 'abcabc'.find('c') }} {{ 'abcabc'.count('bc') }} {{ ', '.join(['a', 'b']) }}"));
    }

    @Test
    void stringIndexingAndRepetitionWork() {
        assertEquals("acH", render("{{ 'abc'[0] }}{{ 'abc'[-1] }}{{ messages[0].content.strip()[0] }}"));
        assertEquals("===--- 6 [1, 2, 1, 2]", render("{{ '=' * 3 }}{{ 3 * '-' }} {{ 2 * 3 }} {{ [1, 2] * 2 }}"));
    }

    @Test
    void notNegatesTheWholeTestOrComparisonAsInJinja() {
        assertEquals("False True True False", render("{{ not messages is defined }} {{ not nothing is defined }} "
                + "{{ not 1 == 2 }} {{ not 'a' in ['a'] }}"));
    }

    @Test
    void blocksAreTrimmedAndLeftStrippedAsTransformersRendersThem() {
        // trim_blocks eats the newline after a block tag; lstrip_blocks the indentation before it
        assertEquals("  yes\nend", ChatTemplate.of("  {% if true %}\n  yes\n  {% endif %}\nend").render(Map.of()));
        // the template's final newline is not output (keep_trailing_newline=False), other output is kept
        assertEquals("a\n", ChatTemplate.of("a\n\n").render(Map.of()));
        assertEquals("ab", ChatTemplate.of("a {#- note -#} b").render(Map.of()));
    }

    @Test
    void dictsIterateOverKeys() {
        assertEquals("a=1;b=2;", render("{% for k in {'a': 1, 'b': 2} %}{{ k }}={{ {'a': 1, 'b': 2}[k] }};{% endfor %}"));
    }

    @Test
    void messageTextIsNeverRunAsTemplateCode() {
        String out = ChatTemplate.of("{{ messages[0].content }}")
                .render(List.of(Map.of("role", "user", "content", "{{ raise_exception('x') }}{% if true %}")), true, "", "");
        assertEquals("{{ raise_exception('x') }}{% if true %}", out);
    }

    @Test
    void aSyntaxErrorIsAChatTemplateException() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> render("{% for m in messages %}"));
        assertTrue(e.getMessage().startsWith("the chat template failed"), e.getMessage());
    }

    @Test
    void strftimeFollowsPythonsFormat() {
        LocalDateTime t = LocalDateTime.of(2024, 7, 6, 9, 5, 3);
        assertEquals("06 Jul 2024, 6 July, Saturday 09:05:03 AM %", ChatTemplateEngine.strftime(t, "%d %b %Y, %-d %B, %A %H:%M:%S %p %%"));
        assertTrue(render("{{ strftime_now('%Y') }}").matches("\\d{4}"));
    }

    @Test
    void tokenizerConfigGivesAStringOrTheDefaultOfANamedList() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertEquals("{{ x }}", ChatTemplate.fromTokenizerConfig(json.readTree("{\"chat_template\": \"{{ x }}\"}")).orElseThrow().source());
        assertEquals("D", ChatTemplate.fromTokenizerConfig(json.readTree(
                "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"D\"}]}")).orElseThrow().source());
        assertTrue(ChatTemplate.fromTokenizerConfig(json.readTree("{\"bos_token\": \"<s>\"}")).isEmpty());
    }
}

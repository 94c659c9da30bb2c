package dev.loraxj.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face chat template: the Jinja program in tokenizer_config.json's {@code chat_template}
 * that turns a conversation into the prompt the model was trained on. Rendered as transformers'
 * {@code apply_chat_template(messages, tokenize=False)} renders it. Immutable and thread-safe.
 */
public final class ChatTemplate {

    private final String source;
    private final String program;

    private ChatTemplate(String source) {
        this.source = source;
        this.program = withoutTrailingNewline(source);
    }

    /** Jinja2's keep_trailing_newline=False: one newline at the end of the source is not output. */
    private static String withoutTrailingNewline(String s) {
        if (s.endsWith("\r\n")) {
            return s.substring(0, s.length() - 2);
        }
        return s.endsWith("\n") || s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    public static ChatTemplate of(String source) {
        if (source == null || source.isBlank()) {
            throw new ChatTemplateException("the chat template is empty");
        }
        return new ChatTemplate(source);
    }

    /**
     * The template of a tokenizer_config.json: {@code chat_template} as a string, or a list of
     * {@code {name, template}} whose "default" entry is used (as transformers picks it).
     */
    public static Optional<ChatTemplate> fromTokenizerConfig(JsonNode config) {
        JsonNode t = config == null ? null : config.get("chat_template");
        if (t == null || t.isNull()) {
            return Optional.empty();
        }
        if (t.isTextual()) {
            return t.asText().isBlank() ? Optional.empty() : Optional.of(of(t.asText()));
        }
        for (JsonNode named : t) {
            if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) {
                return Optional.of(of(named.path("template").asText()));
            }
        }
        return Optional.empty();
    }

    /**
     * The bundled default for a model without a template (a base model such as stories260K): the
     * conversation's texts as one passage to continue.
     */
    public static ChatTemplate continuation() {
        try (var in = ChatTemplate.class.getResourceAsStream("/chat-templates/continuation.jinja")) {
            if (in == null) {
                throw new ModelException("the bundled chat template chat-templates/continuation.jinja is missing from the build");
            }
            return of(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelException("cannot read the bundled chat template: " + e.getMessage(), e);
        }
    }

    /** A template file (loraxj.chat-template): Jinja text, or a tokenizer_config.json holding one. */
    public static ChatTemplate load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ModelException("cannot read chat template " + file + ": " + e.getMessage(), e);
        }
        if (file.getFileName().toString().endsWith(".json")) {
            try {
                return fromTokenizerConfig(new ObjectMapper().readTree(text))
                        .orElseThrow(() -> new ModelException("chat template file " + file + " has no chat_template"));
            } catch (IOException e) {
                throw new ModelException("chat template file " + file + " is not valid JSON: " + e.getMessage(), e);
            }
        }
        return of(text);
    }

    public String source() {
        return source;
    }

    /**
     * Renders a conversation: each message a map with at least "role" and "content".
     *
     * @param addGenerationPrompt end with the assistant's header, so the model writes the reply
     * @throws ChatTemplateException the template raised (message as raised) or failed to render
     */
    public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt, String bosToken, String eosToken) {
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", messages);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken == null ? "" : bosToken);
        vars.put("eos_token", eosToken == null ? "" : eosToken);
        return render(vars);
    }

    /** Renders with any variables (tools, documents, custom flags) besides those above. */
    public String render(Map<String, ?> variables) {
        RenderResult result;
        try {
            result = ChatTemplateEngine.INSTANCE.renderForResult(program, variables);
        } catch (ChatTemplateException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ChatTemplateException("the chat template failed: " + rootMessage(e));
        }
        for (TemplateError error : result.getErrors()) {
            ChatTemplateException raised = raised(error.getException());
            if (raised != null) {
                throw raised;
            }
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ChatTemplateException("the chat template failed at line " + error.getLineno() + ": " + error.getMessage());
            }
        }
        return result.getOutput();
    }

    /** The template's own exception (raise_exception or a Python method's misuse), if it caused this error. */
    private static ChatTemplateException raised(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof ChatTemplateException e) {
                return e;
            }
        }
        return null;
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
    }

    @Override
    public String toString() {
        return "ChatTemplate[" + source.length() + " chars]";
    }
}

package dev.loraxj.api;

import dev.loraxj.adapter.LoadedAdapter;
import dev.loraxj.model.ChatTemplate;
import dev.loraxj.model.Tokenizer;
import dev.loraxj.service.ModelRuntime;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which chat template a chat request uses, and the prompt it renders: the adapter's own template if
 * it ships one, else loraxj.chat-template, else the base model's tokenizer_config.json, else the
 * bundled continuation template (what a base model can do with a conversation).
 */
final class OpenaiChatPrompt {

    private final Optional<String> configuredFile;
    private volatile Base base;

    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(OpenaiChatPrompt.class);

    /** The base template, resolved once per loaded model. */
    private record Base(ModelRuntime runtime, ChatTemplate template, boolean tokenizerAddsBos) {
    }

    OpenaiChatPrompt(Optional<String> configuredFile) {
        this.configuredFile = configuredFile;
    }

    /** Renders on a worker thread (reads the template file once, tokenizes a probe once). */
    String render(ModelRuntime rt, LoadedAdapter adapter, List<Map<String, Object>> messages) {
        return render(rt, adapter, messages, OpenaiTools.NONE);
    }

    /** With the request's tools as the template's {@code tools}, as sent (transformers' apply_chat_template(tools=...)). */
    String render(ModelRuntime rt, LoadedAdapter adapter, List<Map<String, Object>> messages, OpenaiTools tools) {
        Base b = base(rt);
        ChatTemplate template = adapter == null ? b.template()
                : adapter.chatTemplate().filter(t -> !t.isBlank()).map(ChatTemplate::of).orElse(b.template());
        Tokenizer tok = rt.tokenizer();
        String prompt = template.render(variables(messages, tools, tok.bosToken(), tok.eosToken()));
        return withoutDoubleBos(prompt, tok.bosToken(), b.tokenizerAddsBos());
    }

    /** What transformers' apply_chat_template gives a template: messages, the generation prompt, BOS and EOS, and tools when there are some. */
    static Map<String, Object> variables(List<Map<String, Object>> messages, OpenaiTools tools, String bosToken, String eosToken) {
        Map<String, Object> vars = new java.util.HashMap<>(tools.templateVariables());
        vars.put("messages", messages);
        vars.put("add_generation_prompt", true);
        vars.put("bos_token", bosToken == null ? "" : bosToken);
        vars.put("eos_token", eosToken == null ? "" : eosToken);
        return vars;
    }

    /**
     * Templates write {@code bos_token} themselves and the tokenizer adds BOS to every prompt too;
     * LoRAX and TGI then tokenize without special tokens. Dropping the template's leading BOS text
     * and letting the tokenizer add its own gives the same ids and one BOS.
     */
    static String withoutDoubleBos(String prompt, String bosToken, boolean tokenizerAddsBos) {
        if (tokenizerAddsBos && bosToken != null && !bosToken.isEmpty() && prompt.startsWith(bosToken)) {
            return prompt.substring(bosToken.length());
        }
        return prompt;
    }

    private Base base(ModelRuntime rt) {
        Base b = base;
        if (b != null && b.runtime() == rt) {
            return b;
        }
        ChatTemplate template = configuredFile.map(f -> ChatTemplate.load(Path.of(f)))
                .or(() -> ChatTemplate.fromTokenizerConfig(rt.tokenizer().tokenizerConfig()))
                .orElseGet(() -> {
                    LOG.infof("model %s has no chat template and loraxj.chat-template is unset: chat continues the "
                            + "conversation's text as one passage (the bundled continuation template)", rt.modelId());
                    return ChatTemplate.continuation();
                });
        Tokenizer tok = rt.tokenizer();
        int[] probe = tok.encode("a");
        b = new Base(rt, template, tok.bosId() >= 0 && probe.length > 0 && probe[0] == tok.bosId());
        base = b;
        return b;
    }
}

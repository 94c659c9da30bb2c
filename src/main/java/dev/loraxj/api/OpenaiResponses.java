package dev.loraxj.api;

import dev.loraxj.engine.FinishReason;
import dev.loraxj.engine.Generation;
import dev.loraxj.engine.TokenInfo;
import dev.loraxj.service.ValidRequest;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Shapes engine results into OpenAI's bodies: finish reasons, logprobs, whole responses. */
final class OpenaiResponses {

    private OpenaiResponses() {
    }

    /** OpenAI has two reasons: eos and stop sequences are both "stop". */
    static String finishReason(FinishReason r) {
        return r == FinishReason.LENGTH ? "length" : "stop";
    }

    /** The text a choice returns: the generation without the stop sequence that ended it. */
    static String text(Generation g, List<String> stops) {
        return g.finishReason() == FinishReason.STOP_SEQUENCE ? OpenaiStopText.trim(g.text(), stops) : g.text();
    }

    /** With tools, the reply is read for calls: content before them (null when none), the calls, and finish_reason tool_calls. */
    static OpenaiWire.ChatChoice chatChoice(int index, Generation g, OpenaiRequests.Translated translated) {
        OpenaiWire.ChatLogprobs logprobs = translated.logprobs() ? chatLogprobs(g.tokens(), translated.topLogprobs()) : null;
        String text = text(g, translated.stops());
        if (!translated.tools().calls()) {
            return new OpenaiWire.ChatChoice(index, new OpenaiWire.AssistantMessage("assistant", text, null),
                    logprobs, finishReason(g.finishReason()));
        }
        ToolCallText.Reply reply = ToolCallText.parse(text);
        if (reply.calls().isEmpty()) { // the reply's content as a stream sends it (a tag-like text that was no call included)
            return new OpenaiWire.ChatChoice(index, new OpenaiWire.AssistantMessage("assistant", reply.content() == null ? text : reply.content(), null),
                    logprobs, finishReason(g.finishReason()));
        }
        List<OpenaiWire.ToolCall> calls = new ArrayList<>();
        for (ToolCallText.Call c : reply.calls()) {
            calls.add(new OpenaiWire.ToolCall(toolCallId(), "function", new OpenaiWire.FunctionCall(c.name(), c.arguments())));
        }
        return new OpenaiWire.ChatChoice(index, new OpenaiWire.AssistantMessage("assistant", reply.content(), calls),
                logprobs, finishReason(g.finishReason(), true));
    }

    /** A reply that made calls ends with tool_calls, unless it was cut short. */
    static String finishReason(FinishReason r, boolean calls) {
        return calls && r != FinishReason.LENGTH ? "tool_calls" : finishReason(r);
    }

    private static final char[] ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

    /** OpenAI's shape of a call id: call_ and 24 letters and digits. */
    static String toolCallId() {
        java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
        StringBuilder sb = new StringBuilder("call_");
        for (int i = 0; i < 24; i++) {
            sb.append(ID_CHARS[r.nextInt(ID_CHARS.length)]);
        }
        return sb.toString();
    }

    static OpenaiWire.CompletionChoice completionChoice(int index, ValidRequest valid, Generation g, OpenaiRequests.Translated translated) {
        String text = text(g, translated.stops());
        OpenaiWire.CompletionLogprobs logprobs = null;
        if (translated.logprobs()) {
            logprobs = translated.echo() ? completionLogprobs(g.prefill(), g.tokens(), translated.topLogprobs(), valid.inputs().length())
                    : completionLogprobs(List.of(), g.tokens(), translated.topLogprobs(), 0);
        }
        return new OpenaiWire.CompletionChoice(index, translated.echo() ? valid.inputs() + text : text, logprobs,
                finishReason(g.finishReason()));
    }

    /** Chat logprobs of the tokens whose text is part of the reply (special tokens such as EOS are not). */
    static OpenaiWire.ChatLogprobs chatLogprobs(List<TokenInfo> tokens, int top) {
        List<OpenaiWire.TokenLogprob> content = new ArrayList<>();
        for (TokenInfo t : tokens) {
            if (t.special()) {
                continue;
            }
            List<OpenaiWire.TokenLogprob> alternatives = new ArrayList<>();
            if (t.alternatives() != null) {
                for (TokenInfo a : t.alternatives().subList(0, Math.min(top, t.alternatives().size()))) {
                    alternatives.add(new OpenaiWire.TokenLogprob(a.text(), Wire.logprob(a.logprob()), bytes(a.text()), null));
                }
            }
            content.add(new OpenaiWire.TokenLogprob(t.text(), Wire.logprob(t.logprob()), bytes(t.text()), alternatives));
        }
        return new OpenaiWire.ChatLogprobs(content);
    }

    /**
     * The completions API's logprobs; {@code offset} is where the first generated token's text
     * starts in the choice's text. Prompt tokens (echo) have no alternatives and count from 0;
     * generated special tokens (EOS) add no text and are left out.
     */
    static OpenaiWire.CompletionLogprobs completionLogprobs(List<TokenInfo> prompt, List<TokenInfo> generated, int top, int offset) {
        OpenaiWire.CompletionLogprobs out = new OpenaiWire.CompletionLogprobs(new ArrayList<>(), new ArrayList<>(),
                new ArrayList<>(), new ArrayList<>());
        int at = 0;
        for (TokenInfo t : prompt) {
            at = add(out, t, null, at);
        }
        at = offset;
        for (TokenInfo t : generated) {
            if (t.special()) {
                continue;
            }
            Map<String, Float> alternatives = new LinkedHashMap<>();
            if (t.alternatives() != null) {
                for (TokenInfo a : t.alternatives().subList(0, Math.min(top, t.alternatives().size()))) {
                    alternatives.putIfAbsent(a.text(), Wire.logprob(a.logprob()));
                }
            }
            at = add(out, t, alternatives, at);
        }
        return out;
    }

    private static int add(OpenaiWire.CompletionLogprobs out, TokenInfo t, Map<String, Float> top, int at) {
        out.tokens().add(t.text());
        out.tokenLogprobs().add(Wire.logprob(t.logprob()));
        out.topLogprobs().add(top);
        out.textOffset().add(at);
        return at + t.text().length();
    }

    static List<Integer> bytes(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        List<Integer> out = new ArrayList<>(b.length);
        for (byte x : b) {
            out.add(x & 0xff);
        }
        return out;
    }

    static OpenaiWire.Usage usage(int prompt, int completion) {
        return new OpenaiWire.Usage(prompt, completion, prompt + completion);
    }
}

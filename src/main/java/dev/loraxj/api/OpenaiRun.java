package dev.loraxj.api;

import dev.loraxj.engine.FinishReason;
import dev.loraxj.engine.Generation;
import dev.loraxj.engine.GenerationRequest;
import dev.loraxj.engine.TokenEvent;
import dev.loraxj.engine.TokenInfo;
import dev.loraxj.service.AdapterHold;
import dev.loraxj.service.InferenceService;
import dev.loraxj.service.ValidRequest;
import io.smallrye.mutiny.subscription.Cancellable;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * One OpenAI request's choices run side by side (n per prompt, each its own sequence) and answered
 * whole or as SSE chunks. Every callback runs on the exchange's event loop, so the state needs no
 * locks. The first failure, or the client going away, cancels every choice.
 */
final class OpenaiRun {

    private final HttpExchange ex;
    private final InferenceService service;
    private final OpenaiRequests.Translated translated;
    private final OpenaiErrors.Names names;
    private final boolean chat;
    private final AdapterHold held;
    private final List<ValidRequest> choices = new ArrayList<>();
    private final List<Cancellable> running = new ArrayList<>();
    private final String id;
    private final long created = Instant.now().getEpochSecond();
    private int promptTokens;
    private int completionTokens;
    private int left;
    private boolean over;

    /** @param held the request's hold on its adapter (chat), under which each choice holds its own; null: each holds its own alone */
    OpenaiRun(HttpExchange ex, InferenceService service, OpenaiRequests.Translated translated, boolean chat, List<ValidRequest> prompts,
              AdapterHold held) {
        this.ex = ex;
        this.held = held;
        this.service = service;
        this.translated = translated;
        this.chat = chat;
        this.names = chat ? OpenaiErrors.Names.CHAT : OpenaiErrors.Names.COMPLETIONS;
        this.id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        for (ValidRequest v : prompts) {
            promptTokens += v.generation().promptIds().length;
            for (int i = 0; i < translated.n(); i++) {
                choices.add(reseeded(v, i));
            }
        }
        this.left = choices.size();
    }

    /** Choice i of a prompt samples with seed + i, so a seeded request gives the same n choices again. */
    static ValidRequest reseeded(ValidRequest v, int i) {
        if (i == 0) {
            return v;
        }
        GenerationRequest r = v.generation();
        long seed = r.sampling().seed() + i;
        GenerationRequest again = r.reseeded(seed, r.seedReported() == null ? null : seed);
        return new ValidRequest(v.inputs(), again, v.parameters());
    }

    void start() {
        if (!ex.open()) {
            return; // the client left while the request was validated or its adapter loaded
        }
        ex.onClientGone(this::cancelAll);
        try {
            service.checkCapacity(choices, "`n` " + translated.n() + (choices.size() > translated.n() ? " for each of " + choices.size() / translated.n() + " prompts" : ""));
            if (translated.stream()) {
                stream();
            } else {
                whole();
            }
        } catch (RuntimeException e) {
            fail(e); // e.g. 429 when the server is full: the choices already queued are cancelled
        }
    }

    private void whole() {
        Generation[] results = new Generation[choices.size()];
        for (int i = 0; i < choices.size(); i++) {
            int index = i;
            running.add(service.generate(choices.get(i), held)
                    .emitOn(ex.onContext())
                    .subscribe().with(r -> {
                        results[index] = r.best();
                        if (--left == 0 && !over) {
                            over = true;
                            ex.json(200, wholeBody(results));
                        }
                    }, this::fail));
        }
    }

    private Object wholeBody(Generation[] results) {
        for (Generation g : results) {
            completionTokens += g.generatedTokens();
        }
        OpenaiWire.Usage usage = OpenaiResponses.usage(promptTokens, completionTokens);
        if (chat) {
            List<OpenaiWire.ChatChoice> out = new ArrayList<>();
            for (int i = 0; i < results.length; i++) {
                out.add(OpenaiResponses.chatChoice(i, results[i], translated));
            }
            return new OpenaiWire.ChatCompletion(id, "chat.completion", created, translated.model(), out, usage);
        }
        List<OpenaiWire.CompletionChoice> out = new ArrayList<>();
        for (int i = 0; i < results.length; i++) {
            out.add(OpenaiResponses.completionChoice(i, choices.get(i), results[i], translated));
        }
        return new OpenaiWire.Completion(id, "text_completion", created, translated.model(), out, usage);
    }

    private void stream() {
        List<ChoiceStream> states = new ArrayList<>();
        for (int i = 0; i < choices.size(); i++) {
            ChoiceStream s = new ChoiceStream(i, choices.get(i));
            states.add(s);
            running.add(service.stream(choices.get(i), held)
                    .emitOn(ex.onContext())
                    .subscribe().with(s::on, this::fail, this::choiceDone));
        }
        ex.startSse(); // every choice is queued (no 429 left to answer): the stream starts
        for (ChoiceStream s : states) {
            s.begin();
        }
    }

    private void choiceDone() {
        if (--left > 0 || over) {
            return;
        }
        over = true;
        if (translated.includeUsage()) {
            OpenaiWire.Usage usage = OpenaiResponses.usage(promptTokens, completionTokens);
            ex.sse(chat ? new OpenaiWire.ChatChunk(id, "chat.completion.chunk", created, translated.model(), List.of(), usage)
                    : new OpenaiWire.Completion(id, "text_completion", created, translated.model(), List.of(), usage));
        }
        ex.sseRaw("[DONE]");
        ex.end();
    }

    private void fail(Throwable t) {
        if (over) {
            return;
        }
        over = true;
        cancelAll();
        OpenaiErrors.of(t, names).send(ex);
    }

    private void cancelAll() {
        running.forEach(Cancellable::cancel);
    }

    /** One choice's stream: stop sequences held back, logprobs sent with the text they belong to. */
    private final class ChoiceStream {
        private final int index;
        private final ValidRequest valid;
        private final OpenaiStopText text;
        /** With tools: the text read for calls (null: plain text). */
        private final ToolCallText calls;
        private final List<String> callIds = new ArrayList<>();
        private final List<TokenInfo> unsent = new ArrayList<>();
        private int offset;

        ChoiceStream(int index, ValidRequest valid) {
            this.index = index;
            this.valid = valid;
            this.text = new OpenaiStopText(translated.stops());
            this.calls = chat && translated.tools().calls() ? new ToolCallText() : null;
        }

        /** The first chunk: the assistant's role (chat; with tools no content yet, which may stay null), or the prompt itself (completions with echo). */
        void begin() {
            if (chat) {
                chatChunk(new OpenaiWire.Delta("assistant", calls == null ? "" : null), null, null);
            } else if (translated.echo()) {
                completionChunk(valid.inputs(), List.of(), null);
                offset = valid.inputs().length();
            }
        }

        void on(TokenEvent event) {
            TokenInfo t = event.token();
            String piece = t.special() ? "" : t.text();
            if (!t.special()) {
                unsent.add(t);
            }
            if (event instanceof TokenEvent.Finished f) {
                Generation g = f.generation();
                completionTokens += g.generatedTokens();
                String rest = text.finish(piece, g.finishReason() == FinishReason.STOP_SEQUENCE);
                String reason = OpenaiResponses.finishReason(g.finishReason());
                if (calls != null) {
                    List<ToolCallText.Piece> pieces = new ArrayList<>(calls.push(rest));
                    pieces.addAll(calls.finish());
                    if (!send(pieces) && !unsent.isEmpty()) {
                        chatChunk(new OpenaiWire.Delta(null, null), logprobs(), null);
                    }
                    chatChunk(new OpenaiWire.Delta(null, null), null, OpenaiResponses.finishReason(g.finishReason(), calls.calls() > 0));
                } else if (chat) {
                    if (!rest.isEmpty() || !unsent.isEmpty()) {
                        chatChunk(new OpenaiWire.Delta(null, rest), logprobs(), null);
                    }
                    chatChunk(new OpenaiWire.Delta(null, null), null, reason);
                } else {
                    completionChunk(rest, new ArrayList<>(unsent), reason);
                    unsent.clear();
                }
                return;
            }
            String ready = text.push(piece);
            if (ready.isEmpty()) {
                return; // held back (a possible stop sequence) or no text yet: its logprobs wait too
            }
            if (calls != null) {
                send(calls.push(ready)); // nothing sent while a possible tag is undecided: its logprobs wait too
            } else if (chat) {
                chatChunk(new OpenaiWire.Delta(null, ready), logprobs(), null);
            } else {
                completionChunk(ready, new ArrayList<>(unsent), null);
                unsent.clear();
            }
        }

        /** Chunks for the pieces of a reply read for tool calls, the logprobs with the first; false when there were none. */
        private boolean send(List<ToolCallText.Piece> pieces) {
            for (ToolCallText.Piece p : pieces) {
                OpenaiWire.Delta delta = switch (p) {
                    case ToolCallText.Content c -> new OpenaiWire.Delta(null, c.text());
                    case ToolCallText.CallStart s -> {
                        callIds.add(OpenaiResponses.toolCallId());
                        yield toolDelta(new OpenaiWire.ToolCallDelta(s.index(), callIds.get(s.index()), "function",
                                new OpenaiWire.FunctionDelta(s.name(), "")));
                    }
                    case ToolCallText.Arguments a -> toolDelta(new OpenaiWire.ToolCallDelta(a.index(), null, null,
                            new OpenaiWire.FunctionDelta(null, a.text())));
                };
                chatChunk(delta, logprobs(), null);
            }
            return !pieces.isEmpty();
        }

        private static OpenaiWire.Delta toolDelta(OpenaiWire.ToolCallDelta call) {
            return new OpenaiWire.Delta(null, null, List.of(call));
        }

        private OpenaiWire.ChatLogprobs logprobs() {
            if (!translated.logprobs()) {
                unsent.clear();
                return null;
            }
            OpenaiWire.ChatLogprobs out = OpenaiResponses.chatLogprobs(unsent, translated.topLogprobs());
            unsent.clear();
            return out;
        }

        private void chatChunk(OpenaiWire.Delta delta, OpenaiWire.ChatLogprobs logprobs, String finishReason) {
            ex.sse(new OpenaiWire.ChatChunk(id, "chat.completion.chunk", created, translated.model(),
                    List.of(new OpenaiWire.ChunkChoice(index, delta, logprobs, finishReason)), null));
        }

        private void completionChunk(String piece, List<TokenInfo> tokens, String finishReason) {
            OpenaiWire.CompletionLogprobs logprobs = translated.logprobs() && !tokens.isEmpty()
                    ? OpenaiResponses.completionLogprobs(List.of(), tokens, translated.topLogprobs(), offset) : null;
            offset += piece.length();
            ex.sse(new OpenaiWire.Completion(id, "text_completion", created, translated.model(),
                    List.of(new OpenaiWire.CompletionChoice(index, piece, logprobs, finishReason)), null));
        }
    }
}

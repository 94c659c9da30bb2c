package dev.loraxj.engine;

import dev.loraxj.model.IncrementalDetokenizer;
import dev.loraxj.model.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns a step's logits into each sequence's output: samples the next token, appends it,
 * detokenizes it, checks stops, and emits the Token and Finished events, with alternatives and
 * prompt logprobs when asked; verifies speculative candidates. The engine's only user of the
 * tokenizer. Engine thread only.
 */
final class OutputProcessor {

    /** {@link #process}'s answer for a run that produced no token (a prefill chunk before the last). */
    static final int NO_TOKEN = -1;
    /** {@link #process}'s answer for a sequence that finished (or failed) and leaves the batch. */
    static final int FINISHED = -2;

    private final Tokenizer tokenizer;
    private final EngineMetrics metrics;
    private final int vocabSize;
    private final int[] eos;
    private int[] altIds = new int[0];
    private float[] altLogprobs = new float[0];

    OutputProcessor(Tokenizer tokenizer, EngineMetrics metrics, int vocabSize) {
        this.tokenizer = tokenizer;
        this.metrics = metrics;
        this.vocabSize = vocabSize;
        this.eos = tokenizer.eosIds();
    }

    /**
     * Reads one run's logits and counts its tokens as cached. Returns the logit row whose hidden
     * state drafts the sequence's next candidates (its last accepted token's), {@link #NO_TOKEN} or
     * {@link #FINISHED}.
     */
    int process(StepPlan.Run run, float[] logits, long now) {
        Sequence s = run.sequence();
        if (run.verifying()) {
            return verify(s, logits, run.firstLogitRow(), now);
        }
        int n = run.length();
        int firstPos = run.firstPosition();
        if (firstPos < s.promptLength()) {
            if (s.preemptions() == 0) { // a recompute after a preemption is not new prompt work
                metrics.prefilled(Math.min(n, s.promptLength() - firstPos));
            }
            if (s.request().prefillDetails()) {
                recordPrefill(s, firstPos, n, logits, run.firstLogitRow());
            }
        }
        s.markCached(n);
        if (s.uncached() > 0) {
            return NO_TOKEN;
        }
        int lastRow = run.lastLogitRow();
        boolean finished = poisoned(s, logits, lastRow * vocabSize) || emitNext(s, logits, lastRow * vocabSize, now);
        return finished ? FINISHED : lastRow;
    }

    /**
     * A verification step fed {@code [last, c1..ck]}: each position's token is chosen by the
     * sequence's own sampler, and accepted while it equals the candidate, so the output is what
     * decoding one token at a time gives. KV of rejected positions is dropped by not counting it.
     */
    private int verify(Sequence s, float[] logits, int row, long now) {
        int k = s.draftLen();
        int matched = 0;
        boolean finished = false;
        for (int j = 0; j <= k; j++) {
            if (poisoned(s, logits, (row + j) * vocabSize)) {
                return FINISHED;
            }
            int before = s.length();
            finished = emitNext(s, logits, (row + j) * vocabSize, now);
            int chosen = s.tokens()[before];
            if (finished || j == k || chosen != s.draft(j)) {
                break;
            }
            matched++;
        }
        s.markCached(1 + matched);
        s.accepted(matched);
        metrics.speculated(k, matched);
        return finished ? FINISHED : row + matched;
    }

    /** Logprob of each prompt token given the ones before it (the first has none). */
    private void recordPrefill(Sequence s, int firstPos, int n, float[] logits, int row) {
        int[] tokens = s.tokens();
        if (firstPos == 0 && s.prefill().isEmpty()) {
            s.prefill().add(new TokenInfo(tokens[0], tokenizer.tokenText(tokens[0]), Float.NaN, tokenizer.isSpecial(tokens[0]), null));
        }
        // entry q+1 holds position q+1: a sequence recomputed after a preemption records none twice
        for (int q = Math.max(firstPos, s.prefill().size() - 1); q < firstPos + n && q + 1 < s.promptLength(); q++) {
            int id = tokens[q + 1];
            float lp = Sampler.logSoftmaxAt(logits, (row + q - firstPos) * vocabSize, vocabSize, id);
            s.prefill().add(new TokenInfo(id, tokenizer.tokenText(id), lp, tokenizer.isSpecial(id), null));
        }
    }

    /**
     * A row with a NaN or an infinity (a broken adapter, an overflow) would sample garbage: the
     * sequence fails alone, with a clear error, and is retired like a finished one.
     */
    private boolean poisoned(Sequence s, float[] logits, int offset) {
        for (int i = offset, end = offset + vocabSize; i < end; i++) {
            if (!Float.isFinite(logits[i])) {
                metrics.nonFinite();
                s.listener().onError(new EngineException("generation failed: the model produced a non-finite logit ("
                        + logits[i] + " for token " + (i - offset) + ")" + (s.lora() != null
                        ? "; the adapter's weights overflow or are broken" : "")));
                return true;
            }
        }
        return false;
    }

    /** Samples, emits and checks stops; returns true when the sequence finished. */
    private boolean emitNext(Sequence s, float[] logits, int offset, long now) {
        GenerationRequest req = s.request();
        Sampler sampler = s.sampler();
        dev.loraxj.grammar.GrammarState grammar = s.grammar();
        int id;
        try {
            id = sampler.next(logits, offset, s.tokens(), s.length(), s.promptLength(), grammar,
                    req.stopping().maxNewTokens() - s.generated() - 1);
        } catch (EngineException e) {
            s.listener().onError(e);
            return true;
        }
        float logprob = sampler.lastLogprob();
        s.append(id, logprob);
        boolean grammarDone = false;
        if (grammar != null) {
            grammar.accept(id);
            grammarDone = !grammar.canContinue();
        }
        metrics.generated();
        if (s.generated() == 1) {
            metrics.firstToken(now - s.queuedNanos());
            s.firstTokenAt(now);
        } else {
            metrics.nextToken(now - s.lastTokenNanos());
        }
        s.tokenAt(now);
        IncrementalDetokenizer detokenizer = detokenizer(s);
        String text = detokenizer.next(id);
        FinishReason finish = null;
        if ((!req.stopping().ignoreEos() || grammar != null) && isEos(id)) {
            finish = FinishReason.EOS_TOKEN;
        } else if (grammarDone) {
            finish = FinishReason.EOS_TOKEN; // the output is complete and nothing can follow it
        } else if (s.generated() >= req.stopping().maxNewTokens()) {
            finish = FinishReason.LENGTH;
        } else if (s.stops().append(text) >= 0) {
            finish = FinishReason.STOP_SEQUENCE;
        }
        if (finish != null) {
            text += detokenizer.flush();
        }
        TokenInfo token = new TokenInfo(id, text, logprob, tokenizer.isSpecial(id), alternatives(req, sampler, detokenizer, finish != null));
        if (req.details()) {
            s.details().add(token);
        }
        if (finish == null) {
            s.listener().onEvent(new TokenEvent.Token(token));
            return false;
        }
        metrics.finished(now - s.queuedNanos());
        Generation g = new Generation(finalText(s), finish, s.promptLength(), s.generated(), req.seedReported(),
                s.prefill(), s.details(), s.logprobSum(), s.skipped(), s.queuedNanos(), s.startNanos(), s.firstTokenNanos(), now, s.prefixHitTokens());
        s.listener().onEvent(new TokenEvent.Finished(token, g));
        return true;
    }

    /** The sequence's detokenizer, started at its first token (kept across a preemption, as the tokens sent are). */
    private IncrementalDetokenizer detokenizer(Sequence s) {
        if (s.detokenizer() == null) {
            s.detokenizer(new IncrementalDetokenizer(tokenizer, s.request().promptIds()));
        }
        return s.detokenizer();
    }

    /** Each alternative decoded in the chosen token's context, as the chosen token's text was. */
    private List<TokenInfo> alternatives(GenerationRequest req, Sampler sampler, IncrementalDetokenizer detokenizer, boolean flushed) {
        int k = req.alternatives();
        if (k <= 0) {
            return null;
        }
        if (altIds.length < k) {
            altIds = new int[k];
            altLogprobs = new float[k];
        }
        int count = sampler.lastAlternatives(k, altIds, altLogprobs);
        List<TokenInfo> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(new TokenInfo(altIds[i], detokenizer.alternative(altIds[i], flushed), altLogprobs[i], tokenizer.isSpecial(altIds[i]), null));
        }
        return out;
    }

    /** The generated text, decoded with one prompt token of context so a leading space survives. */
    private String finalText(Sequence s) {
        int[] t = s.tokens();
        int ctx = s.promptLength() - 1;
        String prefix = decode(s, ctx, s.promptLength());
        String full = decode(s, ctx, s.length());
        if (full.startsWith(prefix)) {
            return full.substring(prefix.length());
        }
        return decode(s, s.promptLength(), s.length());
    }

    /** Constrained output stays byte for byte what the grammar made: no clean-up of spaces. */
    private String decode(Sequence s, int from, int to) {
        return s.grammar() != null ? tokenizer.decodeExact(s.tokens(), from, to, true) : tokenizer.decode(s.tokens(), from, to, true);
    }

    private boolean isEos(int id) {
        for (int e : eos) {
            if (e == id) {
                return true;
            }
        }
        return false;
    }
}

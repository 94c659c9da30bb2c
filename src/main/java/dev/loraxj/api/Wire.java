package dev.loraxj.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.loraxj.engine.Generation;
import dev.loraxj.engine.TokenInfo;

import java.util.List;

/** LoRAX's response bodies, and their construction from engine results. */
public final class Wire {

    private Wire() {
    }

    public record Token(int id, String text, Float logprob, boolean special,
                        @JsonInclude(JsonInclude.Include.NON_NULL) List<AlternativeToken> alternativeTokens) {
    }

    public record AlternativeToken(int id, String text, Float logprob) {
    }

    public record PrefillToken(int id, String text, Float logprob) {
    }

    public record Details(String finishReason, int promptTokens, int generatedTokens, int skippedTokens, Long seed,
                          List<PrefillToken> prefill, List<Token> tokens,
                          @JsonInclude(JsonInclude.Include.NON_NULL) List<BestOfSequence> bestOfSequences) {
    }

    public record BestOfSequence(String generatedText, String finishReason, int generatedTokens, Long seed,
                                 List<PrefillToken> prefill, List<Token> tokens) {
    }

    public record GenerateResponse(String generatedText, @JsonInclude(JsonInclude.Include.NON_NULL) Details details) {
    }

    public record StreamDetails(String finishReason, int promptTokens, int generatedTokens, Long seed) {
    }

    /** One SSE event; generated_text and details stay null (and present) until the last. */
    public record StreamResponse(Token token, String generatedText, StreamDetails details) {
    }

    public record SimpleToken(int id, String text, int start, int stop) {
    }

    static Float logprob(float value) {
        return Float.isNaN(value) ? null : value;
    }

    static Token token(TokenInfo t) {
        List<AlternativeToken> alts = t.alternatives() == null ? null
                : t.alternatives().stream().map(a -> new AlternativeToken(a.id(), a.text(), logprob(a.logprob()))).toList();
        return new Token(t.id(), t.text(), logprob(t.logprob()), t.special(), alts);
    }

    static List<PrefillToken> prefill(Generation g) {
        return g.prefill().stream().map(t -> new PrefillToken(t.id(), t.text(), logprob(t.logprob()))).toList();
    }

    static List<Token> tokens(Generation g) {
        return g.tokens().stream().map(Wire::token).toList();
    }
}

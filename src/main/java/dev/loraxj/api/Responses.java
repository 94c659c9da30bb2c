package dev.loraxj.api;

import dev.loraxj.engine.Generation;
import dev.loraxj.engine.TokenEvent;
import dev.loraxj.service.InferenceService;
import dev.loraxj.service.ValidRequest;

import java.util.List;

/** Shapes engine results into LoRAX's response bodies. */
final class Responses {

    private Responses() {
    }

    static Wire.GenerateResponse generate(ValidRequest valid, InferenceService.Result result) {
        Generation g = result.best();
        Wire.Details details = null;
        if (valid.details()) {
            List<Wire.BestOfSequence> others = valid.bestOf() > 1
                    ? result.others().stream().map(o -> new Wire.BestOfSequence(text(valid, o), o.finishReason().wire(),
                    o.generatedTokens(), o.seed(), Wire.prefill(o), Wire.tokens(o))).toList()
                    : null;
            details = new Wire.Details(g.finishReason().wire(), g.promptTokens(), g.generatedTokens(), g.skippedTokens(), g.seed(),
                    Wire.prefill(g), Wire.tokens(g), others);
        }
        return new Wire.GenerateResponse(text(valid, g), details);
    }

    static Wire.StreamResponse streamEvent(ValidRequest valid, TokenEvent event) {
        Wire.Token token = Wire.token(event.token());
        if (event instanceof TokenEvent.Finished f) {
            Generation g = f.generation();
            Wire.StreamDetails details = valid.details()
                    ? new Wire.StreamDetails(g.finishReason().wire(), g.promptTokens(), g.generatedTokens(), g.seed())
                    : null;
            return new Wire.StreamResponse(token, text(valid, g), details);
        }
        return new Wire.StreamResponse(token, null, null);
    }

    private static String text(ValidRequest valid, Generation g) {
        return valid.returnFullText() ? valid.inputs() + g.text() : g.text();
    }
}

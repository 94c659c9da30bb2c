package dev.loraxj.api;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.adapter.AdapterRef;
import dev.loraxj.adapter.MergeSpec;
import dev.loraxj.engine.Generation;
import dev.loraxj.engine.TokenEvent;
import dev.loraxj.service.InferenceService;
import dev.loraxj.service.ValidRequest;

import java.util.List;

/** Shapes engine results into LoRAX's response bodies. */
final class Responses {

    /** What x-adapter-source and /adapters call a merge's source. */
    static final String MERGE_SOURCE = "merge";

    private Responses() {
    }

    /** x-adapter-id and /adapters' id: an adapter's id as LoRAX reports it, a merge's readable name. */
    static String adapterId(AdapterKey key) {
        return switch (key) {
            case AdapterRef ref -> ref.id();
            case MergeSpec merge -> merge.name();
        };
    }

    static String adapterSource(AdapterKey key) {
        return switch (key) {
            case AdapterRef ref -> ref.source();
            case MergeSpec merge -> MERGE_SOURCE;
        };
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

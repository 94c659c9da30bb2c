package dev.loraxj.grammar;

import java.io.ByteArrayOutputStream;
import java.util.SplittableRandom;

/**
 * Drives a grammar as the engine's sampler does, with uniform random logits: mask, draw, keep the
 * draw only if the output can still end within the tokens left, accept. Returns the output text.
 */
final class Walk {

    record Result(String text, int tokens, boolean ended) {
    }

    private Walk() {
    }

    static Result run(Grammar g, TokenVocabulary vocab, long seed, int maxTokens) {
        GrammarState st = g.start();
        SplittableRandom rng = new SplittableRandom(seed);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        float[] scores = new float[vocab.size()];
        int[] ids = new int[vocab.size()];
        for (int step = 0; step < maxTokens; step++) {
            for (int i = 0; i < scores.length; i++) {
                scores[i] = (float) rng.nextDouble();
            }
            st.mask(scores, 0, scores.length);
            int n = 0;
            for (int i = 0; i < scores.length; i++) {
                if (scores[i] != Float.NEGATIVE_INFINITY) {
                    ids[n++] = i;
                }
            }
            if (n == 0) {
                throw new AssertionError("no token allowed after " + out.toString(java.nio.charset.StandardCharsets.UTF_8));
            }
            int remaining = maxTokens - step - 1;
            int id = -1;
            // draw by score (the highest), skipping tokens that would leave too little room to finish
            for (int tries = 0; tries < n; tries++) {
                int best = -1;
                for (int k = 0; k < n; k++) {
                    if (ids[k] >= 0 && (best < 0 || scores[ids[k]] > scores[ids[best]])) {
                        best = k;
                    }
                }
                if (st.fits(ids[best], remaining)) {
                    id = ids[best];
                    break;
                }
                ids[best] = -1 - ids[best];
            }
            if (id < 0) {
                throw new AssertionError("no allowed token leaves room to finish after " + out.toString(java.nio.charset.StandardCharsets.UTF_8));
            }
            if (vocab.isEos(id)) {
                return new Result(out.toString(java.nio.charset.StandardCharsets.UTF_8), step, true);
            }
            st.accept(id);
            out.writeBytes(vocab.bytes(id));
            if (!st.canContinue()) {
                return new Result(out.toString(java.nio.charset.StandardCharsets.UTF_8), step + 1, true);
            }
        }
        return new Result(out.toString(java.nio.charset.StandardCharsets.UTF_8), maxTokens, st.complete());
    }
}

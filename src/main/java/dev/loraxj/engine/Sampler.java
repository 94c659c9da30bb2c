package dev.loraxj.engine;

import dev.loraxj.grammar.GrammarState;

/**
 * Picks each next token of one sequence, as LoRAX's NextTokenChooser: logits processors
 * (bias, repetition, frequency/presence), then when sampling the warpers (temperature, top_k,
 * top_p, typical_p) and a draw from this sequence's own seeded PRNG, else argmax.
 * Buffers are sized to the vocabulary once, here; a step allocates nothing. Not thread-safe.
 */
public final class Sampler {

    private final SamplingParams params;
    private final int vocab;
    private final boolean sampling;
    private final LogitsPenalties penalties;
    private final TokenDistribution distribution;
    private final Xoshiro256 rng;
    private int lastId = -1;

    public Sampler(SamplingParams params, int vocabSize) {
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabulary size must be positive, got " + vocabSize);
        }
        this.params = params;
        this.vocab = vocabSize;
        this.sampling = params.sampling();
        this.penalties = LogitsPenalties.of(params, vocabSize);
        this.distribution = new TokenDistribution(vocabSize);
        this.rng = new Xoshiro256(params.seed());
    }

    /** Chooses the next token from logits[offset, offset+vocab). history[0..historyLength) = prompt then generated ids; generated ones start at promptLength. */
    public int next(float[] logits, int offset, int[] history, int historyLength, int promptLength) {
        return next(logits, offset, history, historyLength, promptLength, null, Integer.MAX_VALUE);
    }

    /**
     * As above under a grammar: its mask is a logits processor (after the penalties, before the
     * warpers, as transformers orders them), and a draw that would leave the output unable to end
     * within {@code remaining} more tokens is masked too and drawn again (rare: only near the end).
     */
    public int next(float[] logits, int offset, int[] history, int historyLength, int promptLength, GrammarState grammar, int remaining) {
        if (grammar == null) {
            return choose(logits, offset, history, historyLength, promptLength, null, 0);
        }
        int refused = 0;
        while (true) {
            int id = choose(logits, offset, history, historyLength, promptLength, grammar, refused);
            if (id < 0 && refused > 0) {
                // no token leaves room to finish in one-byte tokens: draw as the grammar alone allows (the output may be cut at the limit)
                return choose(logits, offset, history, historyLength, promptLength, grammar, 0);
            }
            if (id < 0) {
                throw new EngineException("generation failed: no token of the vocabulary can continue the " + grammar.grammar().description()
                        + " here");
            }
            if (grammar.fits(id, remaining)) {
                return id;
            }
            if (refused == refusedIds.length) {
                refusedIds = java.util.Arrays.copyOf(refusedIds, refused * 2);
            }
            refusedIds[refused++] = id;
        }
    }

    /** Draws refused this step for leaving too little room to finish, masked before the next draw. */
    private int[] refusedIds = new int[8];

    private int choose(float[] logits, int offset, int[] history, int historyLength, int promptLength, GrammarState grammar, int refusedCount) {
        float[] scores = distribution.scores();
        System.arraycopy(logits, offset, scores, 0, vocab);
        if (penalties != null) {
            penalties.apply(scores, history, historyLength, promptLength);
        }
        if (grammar != null) {
            for (int i = 0; i < refusedCount; i++) {
                scores[refusedIds[i]] = Float.NEGATIVE_INFINITY;
            }
            if (grammar.mask(scores, 0, vocab) - refusedCount <= 0) {
                return -1;
            }
        }
        distribution.allowAll(sampling);
        if (!sampling) {
            lastId = distribution.argmax();
            return lastId;
        }
        if (params.temperature() != 1f) {
            distribution.divide(params.temperature());
        }
        if (params.topK() > 0) {
            distribution.keepTopK(params.topK());
        }
        if (params.topP() < 1f) {
            distribution.keepTopP(params.topP());
        }
        if (params.typicalP() < 1f) {
            distribution.keepTypical(params.typicalP());
        }
        lastId = distribution.sample(rng);
        return lastId;
    }

    /** log_softmax of the last step's processed scores (masked tokens -inf) at the chosen id, as TGI reports it. */
    public float lastLogprob() {
        requireStep();
        return distribution.logprob(lastId);
    }

    /** Top-k of the last step's processed distribution, by logprob, best first (ties: lower id); masked tokens are left out. Returns the count filled. */
    public int lastAlternatives(int k, int[] ids, float[] logprobs) {
        requireStep();
        if (k > ids.length || k > logprobs.length) {
            throw new IllegalArgumentException("room for " + Math.min(ids.length, logprobs.length) + " alternatives, asked for " + k);
        }
        return k <= 0 ? 0 : distribution.top(k, ids, logprobs);
    }

    /** Raw log-softmax of logits[offset, offset+vocab) at id, for prompt (decoder_input_details) logprobs. */
    public static float logSoftmaxAt(float[] logits, int offset, int vocab, int id) {
        if (id < 0 || id >= vocab) {
            throw new IndexOutOfBoundsException("token " + id + " outside a vocabulary of " + vocab);
        }
        float max = LogSumExp.max(logits, offset, offset + vocab);
        double sum = LogSumExp.sumExp(logits, offset, offset + vocab, max);
        return (float) (logits[offset + id] - max - Math.log(sum));
    }

    private void requireStep() {
        if (lastId < 0) {
            throw new IllegalStateException("no token sampled yet");
        }
    }
}

package dev.loraxj.engine;

import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.backend.cpu.CpuBackend;
import dev.loraxj.backend.cpu.Parallel;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.Tokenizer;

import java.util.List;

/** The real stories260K model, tokenizer and CPU backend for engine tests: open once per class, close after. */
record Stories260KModel(Tokenizer tokenizer, Checkpoint ckpt, ModelConfig cfg, Parallel pool, CpuBackend backend)
        implements AutoCloseable {

    static Stories260KModel open() {
        ModelConfig cfg = ModelConfig.load(SharedAssets.stories260K());
        Tokenizer tokenizer = Tokenizer.load(SharedAssets.stories260K());
        Checkpoint ckpt = Checkpoint.open(SharedAssets.stories260K());
        Parallel pool = new Parallel(2);
        return new Stories260KModel(tokenizer, ckpt, cfg, pool, CpuBackend.load(ckpt, cfg, pool));
    }

    /** A shared adapter, loaded as the engine runs it. */
    SequenceSetup adapter(String name) {
        return new SequenceSetup(backend.register(LoraWeights.read(SharedAssets.adapter(name), cfg).updates()), null);
    }

    @Override
    public void close() {
        backend.close();
        pool.close();
        tokenizer.close();
        ckpt.close();
    }

    /** What a client sees of a generation's tokens: ids, logprobs and alternatives, compared bitwise. */
    record Tokens(List<Integer> ids, List<Float> logprobs, List<List<Integer>> alternatives) {
        static Tokens of(Generation g) {
            return new Tokens(g.tokens().stream().map(TokenInfo::id).toList(), g.tokens().stream().map(TokenInfo::logprob).toList(),
                    g.tokens().stream().map(t -> t.alternatives() == null ? List.<Integer>of()
                            : t.alternatives().stream().map(TokenInfo::id).toList()).toList());
        }
    }
}

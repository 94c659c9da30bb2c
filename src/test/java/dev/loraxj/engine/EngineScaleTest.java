package dev.loraxj.engine;

import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.adapter.MedusaLoader;
import dev.loraxj.adapter.RandomLora;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.backend.cpu.CpuBackend;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.Tokenizer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Steps far past every reused buffer's first capacity (StepBatch, Scheduler plan, LoRA segments,
 * Medusa draft rows, alternatives): hundreds of sequences in one step, each equal to itself alone.
 */
class EngineScaleTest {

    static final String[] PROMPTS = {
            "Once upon a time, there was a little girl", "The cat sat", "Lily and Ben went to the park",
            "One day, a big dog", "Tom had a red ball.", "The sun was hot", "She liked to sing", "A bird flew",
    };

    static Stories260KModel model;
    static Tokenizer tokenizer;
    static ModelConfig cfg;
    static CpuBackend backend;
    static List<SequenceSetup> adapters = new ArrayList<>();

    @BeforeAll
    static void load(@TempDir Path tmp) throws Exception {
        model = Stories260KModel.open();
        tokenizer = model.tokenizer();
        cfg = model.cfg();
        backend = model.backend();
        for (String name : List.of("lora-name-max", "lora-name-sue", "lora-synth-1", "lora-synth-2")) {
            adapters.add(new SequenceSetup(backend.register(LoraWeights.read(SharedAssets.adapter(name), cfg).updates()), null));
        }
        // 36 more, so one step holds 40 adapter segments (LoraDelta starts with room for 8)
        for (int i = 0; i < 36; i++) {
            Path dir = tmp.resolve("random-" + i);
            int rank = 2 + i % 7;
            RandomLora.write(dir, cfg, rank, 2.0 * rank, i % 3 == 0, RandomLora.ALL_MODULES, i % 2 == 0 ? DType.BF16 : DType.F32,
                    900 + i, 0.05);
            adapters.add(new SequenceSetup(backend.register(LoraWeights.read(dir, cfg).updates()), null));
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    record Job(GenerationRequest request, String key, SequenceSetup adapter) {
    }

    static GenerationRequest request(int i) {
        int[] prompt = tokenizer.encode(PROMPTS[i % PROMPTS.length]);
        int maxNew = 12 + i % 5;
        StoppingParams stop = new StoppingParams(maxNew, List.of(), true);
        SamplingParams p = i % 3 == 0
                ? SamplingParams.greedy()
                : new SamplingParams(true, 0.9f, i % 4 == 0 ? 20 : 0, 0.95f, 1.0f, i % 5 == 0 ? 1.2f : 1.0f, 0f, 0f, 1000L + i, Map.of());
        // some ask for alternatives (3..12), beyond the engine's first buffer for them
        return new GenerationRequest(prompt, p, stop, true, false, i % 7 == 0 ? 3 + i % 10 : 0, p.doSample() ? 1000L + i : null);
    }

    /** Sequence i runs on the base model (every 9th), else on one of the 40 adapters. */
    static Job job(int i) {
        if (i % 9 == 0) {
            return new Job(request(i), null, null);
        }
        int a = i % adapters.size();
        return new Job(request(i), "adapter-" + a, adapters.get(a));
    }

    static EngineHarness.Collector submit(Engine e, Job j) {
        EngineHarness.Collector c = new EngineHarness.Collector();
        if (j.adapter() == null) {
            e.submit(j.request(), c);
        } else {
            e.submit(j.request(), c, EngineHarness.key(j.key()), CompletableFuture.completedFuture(j.adapter()));
        }
        return c;
    }

    @Test
    void threeHundredSequencesInOneStepEachEqualAlone() throws Exception {
        int n = 300;
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            jobs.add(job(i));
        }
        // 40 adapters plus the base model all active; the prefill budget takes every prompt in the first step
        EngineConfig config = new EngineConfig(n * 64, 8192, 16, 64, 2_000_000_000L);
        List<Stories260KModel.Tokens> alone = new ArrayList<>();
        Engine single = new Engine(backend, tokenizer, config, new SimpleMeterRegistry()).start();
        try {
            for (Job j : jobs) {
                alone.add(Stories260KModel.Tokens.of(submit(single, j).await()));
            }
        } finally {
            single.close();
        }
        Engine together = new Engine(backend, tokenizer, config, new SimpleMeterRegistry());
        List<EngineHarness.Collector> cs = new ArrayList<>();
        for (Job j : jobs) {
            cs.add(submit(together, j)); // queued before the engine starts, so the first step admits all of them
        }
        together.start();
        try {
            for (int i = 0; i < n; i++) {
                // bitwise: every output is computed in a fixed order whatever else is in the batch
                assertEquals(alone.get(i), Stories260KModel.Tokens.of(cs.get(i).await()), "sequence " + i + " in a step of " + n);
            }
            assertTrue(together.metrics().maxBatchSize() >= n, "all " + n + " ran in one step: " + together.metrics().maxBatchSize());
        } finally {
            together.close();
        }
    }

    @Test
    void fortyMedusaSequencesDraftAndVerifyTogetherWithTheSameTokens() throws Exception {
        MedusaHeads heads = MedusaLoader.load(SharedAssets.adapter("medusa-v1"), cfg);
        int n = 40;
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            requests.add(new GenerationRequest(tokenizer.encode(PROMPTS[i % PROMPTS.length]), SamplingParams.greedy(),
                    new StoppingParams(20 + i % 7, List.of(), true), true, false, 0, null));
        }
        List<List<Integer>> plain = new ArrayList<>();
        Engine reference = new Engine(backend, tokenizer, new EngineConfig(8192, 4096, 16), new SimpleMeterRegistry()).start();
        try {
            for (GenerationRequest r : requests) {
                EngineHarness.Collector c = new EngineHarness.Collector();
                reference.submit(r, c);
                c.await();
                plain.add(c.ids());
            }
        } finally {
            reference.close();
        }
        Engine medusa = new Engine(backend, tokenizer, new EngineConfig(8192, 4096, 16, 1024, 2_000_000_000L, heads, 3, 64),
                new SimpleMeterRegistry());
        List<EngineHarness.Collector> cs = new ArrayList<>();
        for (GenerationRequest r : requests) {
            EngineHarness.Collector c = new EngineHarness.Collector();
            medusa.submit(r, c);
            cs.add(c);
        }
        medusa.start();
        try {
            int skipped = 0;
            for (int i = 0; i < n; i++) {
                skipped += cs.get(i).await().skippedTokens();
                assertEquals(plain.get(i), cs.get(i).ids(), "Medusa sequence " + i + " of " + n);
            }
            assertTrue(skipped > 0, "candidates were accepted in batches of " + n);
        } finally {
            medusa.close();
        }
    }
}

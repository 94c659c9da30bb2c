package dev.loraxj.engine;

import dev.loraxj.backend.cpu.CpuBackend;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.Tokenizer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Automatic prefix caching: requests sharing a prefix (same adapter, same salt) reuse its KV and get
 * bitwise the output they get computed fresh; nothing is shared across adapters or salts; reference
 * counts return to zero under cancellation and preemption.
 */
class PrefixCacheTest {

    static final String SYSTEM = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. "
            + "One day, she saw a big red ball in the park. She ran to the ball and kicked it very high. ";
    static final String[] QUESTIONS = {"The ball", "Lily was happy", "Then her mom", "A dog came", "She said", "It was"};

    static Stories260KModel model;
    static Tokenizer tokenizer;
    static ModelConfig cfg;
    static CpuBackend backend;
    static SequenceSetup max;
    static SequenceSetup sue;

    @BeforeAll
    static void load() {
        model = Stories260KModel.open();
        tokenizer = model.tokenizer();
        cfg = model.cfg();
        backend = model.backend();
        max = model.adapter("lora-name-max");
        sue = model.adapter("lora-name-sue");
    }

    @AfterAll
    static void close() {
        model.close();
    }

    record Job(GenerationRequest request, String adapter) {
    }

    static GenerationRequest request(String text, int i, String salt) {
        SamplingParams p = i % 2 == 0 ? SamplingParams.greedy()
                : new SamplingParams(true, 0.9f, 0, 0.95f, 1f, 1.05f, 0f, 0f, 500L + i, Map.of());
        return new GenerationRequest(tokenizer.encode(text), p, new StoppingParams(16, List.of(), true), true, false, i % 3 == 0 ? 2 : 0,
                p.doSample() ? 500L + i : null, salt);
    }

    static EngineHarness.Collector submit(Engine e, Job j) {
        EngineHarness.Collector c = new EngineHarness.Collector();
        switch (j.adapter() == null ? "" : j.adapter()) {
            case "max" -> e.submit(j.request(), c, EngineHarness.key("max"), CompletableFuture.completedFuture(max));
            case "sue" -> e.submit(j.request(), c, EngineHarness.key("sue"), CompletableFuture.completedFuture(sue));
            default -> e.submit(j.request(), c);
        }
        return c;
    }

    static Engine engine(boolean caching, int totalTokens) {
        return new Engine(backend, tokenizer, new EngineConfig(totalTokens, 4096, 16).withPrefixCaching(caching), new SimpleMeterRegistry());
    }

    static List<Stories260KModel.Tokens> runOneByOne(Engine e, List<Job> jobs) throws Exception {
        List<Stories260KModel.Tokens> out = new ArrayList<>();
        for (Job j : jobs) {
            out.add(Stories260KModel.Tokens.of(submit(e, j).await()));
        }
        return out;
    }

    static List<Job> mixedJobs() {
        List<Job> jobs = new ArrayList<>();
        String[] adapters = {null, "max", "sue"};
        for (int i = 0; i < 18; i++) {
            jobs.add(new Job(request(SYSTEM + QUESTIONS[i % QUESTIONS.length], i, null), adapters[i % 3]));
        }
        return jobs;
    }

    @Test
    void aSharedPrefixIsReusedAndGivesBitwiseTheFreshOutputInMixedAdapterBatches() throws Exception {
        List<Job> jobs = mixedJobs();
        Engine fresh = engine(false, 8192).start();
        List<Stories260KModel.Tokens> expected;
        try {
            expected = runOneByOne(fresh, jobs);
            assertEquals(0, fresh.metrics().prefixHitTokens());
        } finally {
            fresh.close();
        }
        Engine cached = engine(true, 8192).start();
        try {
            // one of each adapter first, so the rest find its prefix
            List<Stories260KModel.Tokens> warm = runOneByOne(cached, jobs.subList(0, 3));
            assertEquals(expected.subList(0, 3), warm);
            assertEquals(0, cached.metrics().prefixHitTokens(), "nothing to share yet; adapters never share");
            List<EngineHarness.Collector> cs = new ArrayList<>();
            for (Job j : jobs.subList(3, jobs.size())) {
                cs.add(submit(cached, j)); // all at once: mixed adapters, hits and misses in one batch
            }
            for (int i = 0; i < cs.size(); i++) {
                assertEquals(expected.get(3 + i), Stories260KModel.Tokens.of(cs.get(i).await()), "request " + (3 + i) + " from the prefix cache");
            }
            int prefixBlocks = (tokenizer.encode(SYSTEM).length - 1) / 16;
            assertTrue(cached.metrics().prefixHitTokens() >= 15L * prefixBlocks * 16,
                    "each later request reused the system prompt: " + cached.metrics().prefixHitTokens());
            awaitIdle(cached);
        } finally {
            cached.close();
        }
    }

    /** A burst that arrives together shares the prefix the first of it computes in the same step. */
    @Test
    void requestsAdmittedInOneStepShareThePrefixTheFirstComputes() throws Exception {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            jobs.add(new Job(request(SYSTEM + QUESTIONS[i % QUESTIONS.length], i, null), i % 2 == 0 ? "max" : null));
        }
        Engine fresh = engine(false, 8192).start();
        List<Stories260KModel.Tokens> expected;
        try {
            expected = runOneByOne(fresh, jobs);
        } finally {
            fresh.close();
        }
        Engine burst = engine(true, 8192);
        List<EngineHarness.Collector> cs = new ArrayList<>();
        for (Job j : jobs) {
            cs.add(submit(burst, j)); // all queued before the first step: every one is admitted in it
        }
        burst.start();
        try {
            for (int i = 0; i < cs.size(); i++) {
                assertEquals(expected.get(i), Stories260KModel.Tokens.of(cs.get(i).await()), "request " + i + " of the burst");
            }
            int prefixBlocks = (tokenizer.encode(SYSTEM).length - 1) / 16;
            // per adapter the first computes the prefix; the five others of each share it within the same step
            assertTrue(burst.metrics().prefixHitTokens() >= 10L * prefixBlocks * 16,
                    "the burst shared the prefix: " + burst.metrics().prefixHitTokens() + " tokens");
            awaitIdle(burst);
        } finally {
            burst.close();
        }
    }

    @Test
    void noPrefixIsSharedAcrossAdaptersOrSalts() throws Exception {
        Engine e = engine(true, 8192).start();
        try {
            String text = SYSTEM + "The end";
            long hits = e.metrics().prefixHitTokens();
            runOneByOne(e, List.of(new Job(request(text, 0, null), "max")));
            runOneByOne(e, List.of(new Job(request(text, 0, null), "sue"), new Job(request(text, 0, null), null),
                    new Job(request(text, 0, "tenant-a"), "max")));
            assertEquals(hits, e.metrics().prefixHitTokens(), "other adapter, base model, salted: no hits");
            runOneByOne(e, List.of(new Job(request(text, 0, "tenant-b"), "max")));
            assertEquals(hits, e.metrics().prefixHitTokens(), "another salt: no hits");
            runOneByOne(e, List.of(new Job(request(text, 0, "tenant-a"), "max")));
            long salted = e.metrics().prefixHitTokens() - hits;
            assertTrue(salted > 0, "the same salt and adapter share");
            runOneByOne(e, List.of(new Job(request(text, 0, null), "max")));
            assertTrue(e.metrics().prefixHitTokens() - hits > salted, "the unsalted pool shares among unsalted requests");
            awaitIdle(e);
        } finally {
            e.close();
        }
    }

    @Test
    void aRequestWhoseGateFailsNeverLooksUpThePrefixCache() throws Exception {
        Engine e = engine(true, 8192).start();
        try {
            runOneByOne(e, List.of(new Job(request(SYSTEM + "The end", 0, null), "max")));
            long hits = e.metrics().prefixHitTokens();
            EngineHarness.Collector refused = new EngineHarness.Collector();
            // the access check for the private adapter failed: the sequence never runs, so never meets the cached prefix
            e.submit(request(SYSTEM + "The end", 0, null), refused, EngineHarness.key("max"),
                    CompletableFuture.failedFuture(new IllegalStateException("token refused")));
            assertTrue(refused.done.handle((g, t) -> t != null).get(), "refused");
            assertEquals(hits, e.metrics().prefixHitTokens());
        } finally {
            e.close();
        }
    }

    @Test
    void cancelStormsAndPreemptionLeaveEveryReferenceCountAtZero() throws Exception {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            jobs.add(new Job(request(SYSTEM + QUESTIONS[i % QUESTIONS.length], i, i % 5 == 0 ? "s" : null), i % 2 == 0 ? "max" : null));
        }
        Engine fresh = engine(false, 8192).start();
        List<Stories260KModel.Tokens> expected;
        try {
            expected = runOneByOne(fresh, jobs);
        } finally {
            fresh.close();
        }
        // 60 sequences of ~70 tokens in 640 slots: shares, preemptions and cancels all at once
        Engine e = engine(true, 640);
        SplittableRandom random = new SplittableRandom(3);
        List<EngineHarness.Collector> cs = new ArrayList<>();
        List<Sequence> seqs = new ArrayList<>();
        for (Job j : jobs) {
            EngineHarness.Collector c = new EngineHarness.Collector();
            seqs.add(j.adapter() == null ? e.submit(j.request(), c)
                    : e.submit(j.request(), c, EngineHarness.key("max"), CompletableFuture.completedFuture(max)));
            cs.add(c);
        }
        e.start();
        try {
            List<Integer> cancelledIds = new ArrayList<>();
            for (int round = 0; round < 3; round++) {
                Thread.sleep(random.nextInt(5, 30));
                for (int i = 0; i < seqs.size(); i++) {
                    if (random.nextInt(4) == 0 && !cs.get(i).done.isDone()) {
                        seqs.get(i).cancel();
                        cancelledIds.add(i);
                    }
                }
            }
            for (int i = 0; i < cs.size(); i++) {
                if (cancelledIds.contains(i)) {
                    continue;
                }
                Generation g = cs.get(i).await();
                assertEquals(expected.get(i), Stories260KModel.Tokens.of(g), "request " + i);
            }
            awaitIdle(e);
            for (int b = 0; b < e.pool().numBlocks(); b++) {
                assertEquals(0, e.pool().refs(b), "block " + b + " still referenced");
            }
        } finally {
            e.close();
        }
    }

    static void awaitIdle(Engine e) throws InterruptedException {
        for (int i = 0; i < 1000 && e.metrics().freeBlocks.get() != e.totalBlocks(); i++) {
            Thread.sleep(10);
        }
        assertEquals(e.totalBlocks(), e.metrics().freeBlocks.get(), "every block free (or cached and unreferenced)");
    }
}

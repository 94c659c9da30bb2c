package dev.loraxj.engine;

import dev.loraxj.backend.StepBatch;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scheduler's adapter semantics, step by step with a controlled clock. */
class SchedulerTest {

    static final SequenceSetup NONE = adapter();
    /** One slot per adapter key, as the store registers one per loaded adapter. */
    final java.util.Map<Object, SequenceSetup> slots = new java.util.HashMap<>();
    long ids;

    Sequence seq(String adapter, CompletableFuture<SequenceSetup> gate) {
        GenerationRequest r = new GenerationRequest(new int[] {1, 403}, SamplingParams.greedy(),
                new StoppingParams(4, List.of(), true), false, false, 0, null);
        return new Sequence(++ids, r, null, 512, 16, EngineHarness.key(adapter), gate, () -> { });
    }

    Sequence ready(String adapter) {
        return seq(adapter, adapter == null ? null : CompletableFuture.completedFuture(slots.computeIfAbsent(adapter, k -> adapter())));
    }

    static SequenceSetup adapter() {
        return new SequenceSetup(new dev.loraxj.backend.AdapterSlot(dev.loraxj.backend.AdapterFootprint.NONE) { }, null);
    }

    static List<Sequence> running(Scheduler s, StepBatch b, long now) {
        List<Sequence> out = new ArrayList<>();
        for (StepPlan.Run run : s.schedule(b, now).runs()) {
            out.add(run.sequence());
        }
        return out;
    }

    @Test
    void atMostMaxActiveAdaptersRunAtOnce() {
        Scheduler s = new Scheduler(new KvBlockPool(64, 16), 4096, 1000, 2, 1_000_000_000L);
        Sequence a = ready("A"), b = ready("B"), c = ready("C");
        s.enqueue(a);
        s.enqueue(b);
        s.enqueue(c);
        List<Sequence> run = running(s, new StepBatch(512), 0);
        assertEquals(List.of(a, b), run);
        assertEquals(1, s.waitingCount());
        assertEquals(2, s.activeAdapters());
    }

    @Test
    void anAdapterPastItsCycleTimeDrainsAndMakesWayForWaitingOnes() {
        long cycle = 1000;
        Scheduler s = new Scheduler(new KvBlockPool(64, 16), 4096, 1000, 1, cycle);
        StepBatch batch = new StepBatch(512);
        Sequence a1 = ready("A");
        s.enqueue(a1);
        assertEquals(List.of(a1), running(s, batch, 0));
        Sequence b1 = ready("B");
        Sequence a2 = ready("A");
        s.enqueue(b1);
        s.enqueue(a2);
        // before the cycle ends, A still takes its own new requests; B waits for a slot
        assertTrue(running(s, batch, 10).contains(a2));
        Sequence a3 = ready("A");
        s.enqueue(a3);
        List<Sequence> afterCycle = running(s, batch, cycle + 1);
        assertFalse(afterCycle.contains(a3), "past its cycle with B waiting, A takes no new requests");
        assertFalse(afterCycle.contains(b1), "B waits until A's running requests finish");
        s.retire(a1);
        s.retire(a2);
        List<Sequence> rotated = running(s, batch, cycle + 2);
        assertEquals(List.of(b1), rotated, "A rotated out; B runs");
        assertEquals(1, s.waitingCount(), "A's newest request waits for its next turn");
    }

    @Test
    void aRequestWhoseAdapterIsLoadingDoesNotHoldUpOthers() {
        Scheduler s = new Scheduler(new KvBlockPool(64, 16), 4096, 1000, 1024, 1_000_000_000L);
        CompletableFuture<SequenceSetup> loading = new CompletableFuture<>();
        Sequence slow = seq("slow", loading);
        Sequence base = ready(null);
        s.enqueue(slow);
        s.enqueue(base);
        StepBatch batch = new StepBatch(512);
        assertEquals(List.of(base), running(s, batch, 0));
        loading.complete(NONE);
        assertTrue(running(s, batch, 1).contains(slow));
    }

    @Test
    void aFailedGateDropsOnlyItsRequest() {
        Scheduler s = new Scheduler(new KvBlockPool(64, 16), 4096, 1000, 1024, 1_000_000_000L);
        CompletableFuture<SequenceSetup> broken = new CompletableFuture<>();
        Sequence bad = seq("bad", broken);
        Sequence good = ready("good");
        s.enqueue(bad);
        s.enqueue(good);
        broken.completeExceptionally(new IllegalStateException("corrupt"));
        List<Sequence> failed = new ArrayList<>();
        s.dropCancelledAndFailed(failed::add);
        assertEquals(List.of(bad), failed);
        assertEquals("corrupt", bad.gateError().getMessage());
        assertEquals(List.of(good), running(s, new StepBatch(512), 0));
    }

    @Test
    void sequencesOfOneAdapterFormOneSegment() {
        Scheduler s = new Scheduler(new KvBlockPool(64, 16), 4096, 1000, 1024, 1_000_000_000L);
        Sequence a1 = ready("A"), b1 = ready("B"), a2 = ready("A"), base = ready(null), b2 = ready("B");
        for (Sequence q : List.of(a1, b1, a2, base, b2)) {
            s.enqueue(q);
        }
        assertEquals(List.of(a1, a2, b1, b2, base), running(s, new StepBatch(512), 0));
    }

    /**
     * 32 prompts of 128 tokens arrive together. With the default step budget (512 prefill tokens,
     * loraxj.max-batch-prefill-tokens) they reach their first tokens in waves of four, oldest first,
     * instead of all after one 4096-token step; and every sequence that has its first token decodes
     * in every later step, so the waves never starve decodes.
     */
    @Test
    void promptsArrivingTogetherReachFirstTokensInWavesWhileDecodesGoOn() {
        Scheduler s = new Scheduler(new KvBlockPool(1024, 16), 512, 1000, 8, 1_000_000_000L);
        List<Sequence> all = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            int[] prompt = new int[128];
            java.util.Arrays.fill(prompt, 5 + i);
            GenerationRequest r = new GenerationRequest(prompt, SamplingParams.greedy(), new StoppingParams(64, List.of(), true),
                    false, false, 0, null);
            Sequence q = new Sequence(++ids, r, null, 512, 16, null, null, () -> { });
            all.add(q);
            s.enqueue(q);
        }
        int[] firstTokenStep = new int[32];
        java.util.Arrays.fill(firstTokenStep, -1);
        StepBatch batch = new StepBatch(512);
        for (int step = 0; step < 12; step++) {
            List<Sequence> decodingBefore = all.stream().filter(q -> firstTokenStep[all.indexOf(q)] >= 0).toList();
            StepPlan plan = s.schedule(batch, step);
            List<Sequence> inStep = plan.runs().stream().map(StepPlan.Run::sequence).toList();
            assertTrue(inStep.containsAll(decodingBefore), "step " + step + ": every decoding sequence runs");
            int prefill = 0;
            for (StepPlan.Run run : plan.runs()) {
                Sequence q = run.sequence();
                if (q.prefilling()) {
                    prefill += run.length();
                }
                q.markCached(run.length());
                if (q.uncached() == 0) {
                    q.append(7, 0f);
                    if (firstTokenStep[all.indexOf(q)] < 0) {
                        firstTokenStep[all.indexOf(q)] = step;
                    }
                }
            }
            assertTrue(prefill <= 512, "step " + step + " prefilled " + prefill);
        }
        for (int i = 0; i < 32; i++) {
            assertEquals(i / 4, firstTokenStep[i], "sequence " + i + " gets its first token in wave " + i / 4);
        }
    }
}

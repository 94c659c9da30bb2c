package dev.loraxj.adapter;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.AdapterSlots;
import dev.loraxj.backend.LoraShape;
import dev.loraxj.backend.LoraUpdate;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A merge's bytes are reserved before its weights exist: its plan reads the parts' headers only, and
 * the merge runs in materialize(), once the store has made room. Sizes are large enough (a merged
 * adapter of 2.2 MB) that reading headers (some 150 kB, whatever the size) is far below what merging allocates.
 */
class AdapterMergerTest {

    @TempDir
    static Path dir;
    static ModelConfig base;
    static MergeSpec spec;

    private final ExecutorService loaders = Executors.newFixedThreadPool(2);

    /** A Llama shape 2048 wide, 2 layers: an r=8 adapter on all seven linears is 2.2 MB in F32. */
    @BeforeAll
    static void adapters() throws Exception {
        base = ModelConfig.parse(new ObjectMapper().readTree("{\"model_type\":\"llama\",\"hidden_size\":2048,"
                + "\"intermediate_size\":4096,\"num_hidden_layers\":2,\"num_attention_heads\":8,\"vocab_size\":512}"));
        RandomLora.write(dir.resolve("a"), base, 8, 16, false, RandomLora.ALL_MODULES, DType.F32, 1, 0.02);
        RandomLora.write(dir.resolve("b"), base, 8, 16, false, RandomLora.ALL_MODULES, DType.BF16, 2, 0.02);
        spec = new MergeSpec(List.of(AdapterRef.of("a", "local"), AdapterRef.of("b", "local")), List.of(0.7f, 0.3f),
                MergeSpec.Strategy.TIES, 0.5f, MergeSpec.SignMethod.TOTAL, 0);
    }

    @AfterEach
    void stop() {
        loaders.shutdownNow();
    }

    /** A backend that holds each update as A and B in float32, as the CPU does for F32 weights. */
    static final AdapterSlots SLOTS = new AdapterSlots() {
        @Override
        public AdapterFootprint footprint(List<LoraShape> shapes) {
            return new AdapterFootprint(shapes.stream().mapToLong(s -> 4L * s.rank() * (s.in() + s.out())).sum(), 0);
        }

        @Override
        public AdapterSlot register(List<LoraUpdate> updates) {
            return new AdapterSlot(footprint(updates.stream().map(LoraUpdate::shape).toList())) { };
        }

        @Override
        public void release(AdapterSlot slot) {
        }
    };

    static PendingAdapter plan() {
        return AdapterMerger.pending(spec, ref -> dir.resolve(ref.id()), base, SLOTS);
    }

    /** Bytes the calling thread allocates while running {@code r}. */
    static long allocatedBy(Runnable r) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        r.run();
        return threads.getCurrentThreadAllocatedBytes() - before;
    }

    @Test
    void planningAMergeAllocatesNoneOfItsWeightsAndReservesExactlyWhatItHolds() {
        plan(); // loads the classes and warms the parsers, whose one-time allocations are not the merge's
        PendingAdapter[] p = new PendingAdapter[1];
        long planning = allocatedBy(() -> p[0] = plan());
        long bytes = p[0].footprint().total();
        assertTrue(bytes > 2_000_000, "the merged adapter is large: " + bytes);
        // headers and configs only; building the merge allocates the parts' values and the result, several times `bytes`
        assertTrue(planning < bytes / 4, "planning allocated " + planning + " bytes for a merge of " + bytes);
        LoadedAdapter merged = p[0].materialize();
        assertEquals(bytes, merged.footprint().total(), "the store reserves exactly what the merged adapter holds");
    }

    @Test
    void aMergeThatFitsOnlyAloneWaitsForTheOthersWithinTheBudget() throws Exception {
        long mergedBytes = plan().footprint().total();
        long budget = mergedBytes * 3 / 2;
        long otherBytes = mergedBytes; // the other adapter and the merge do not fit together
        AtomicLong planAllocated = new AtomicLong(-1);
        AdapterStore store = new AdapterStore((key, token) -> switch (key) {
            case AdapterRef ref -> fake(otherBytes);
            case MergeSpec merge -> {
                PendingAdapter[] p = new PendingAdapter[1];
                planAllocated.set(allocatedBy(() -> p[0] = AdapterMerger.pending(merge, r -> dir.resolve(r.id()), base, SLOTS)));
                yield p[0];
            }
        }, budget, loaders, new SimpleMeterRegistry());
        AdapterStore.Lease other = store.acquire(AdapterRef.of("other", "local"));
        other.adapter().get(5, TimeUnit.SECONDS);
        AdapterStore.Lease merge = store.acquire(spec);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!state(store, spec).equals("waiting_for_memory") && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals("waiting_for_memory", state(store, spec), "the other adapter is leased: the merge waits");
        assertFalse(merge.adapter().isDone());
        // what exists of adapter weights while the merge waits: the other adapter, and whatever planning the merge allocated
        assertTrue(otherBytes + planAllocated.get() <= budget, "while waiting, the merge allocated " + planAllocated.get()
                + " bytes beside the other adapter's " + otherBytes + ", over the budget of " + budget);
        other.release();
        assertEquals(mergedBytes, merge.adapter().get(10, TimeUnit.SECONDS).footprint().total());
        assertEquals(List.of(spec), store.list().stream().map(AdapterStore.Info::key).toList(), "the idle adapter made room");
        assertTrue(store.peakBytes() <= budget, "peak " + store.peakBytes() + " within " + budget);
    }

    static String state(AdapterStore store, AdapterKey key) {
        return store.list().stream().filter(i -> i.key().equals(key)).findFirst().map(AdapterStore.Info::state).orElse("absent");
    }

    static PendingAdapter fake(long bytes) {
        LoadedAdapter adapter = new LoadedAdapter(new AdapterSlot(new AdapterFootprint(bytes, 0)) { }, null, java.util.Optional.empty(),
                "fake", SLOTS);
        return new PendingAdapter() {
            @Override
            public AdapterFootprint footprint() {
                return adapter.footprint();
            }

            @Override
            public LoadedAdapter materialize() {
                return adapter;
            }
        };
    }
}

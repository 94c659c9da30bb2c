package dev.loraxj.adapter;

import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.AdapterSlots;
import dev.loraxj.backend.LoraShape;
import dev.loraxj.backend.LoraUpdate;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The store's contract with fake adapters of known sizes: dedupe, budget, LRU, leases, failures. */
class AdapterStoreTest {

    private final ExecutorService loaders = Executors.newFixedThreadPool(4);
    private final Map<String, AtomicInteger> planned = new ConcurrentHashMap<>();
    private final AtomicLong peakSeen = new AtomicLong();
    private final Map<String, AtomicInteger> released = new ConcurrentHashMap<>();

    @AfterEach
    void stop() {
        loaders.shutdownNow();
    }

    /** A fake adapter "name:bytes" (or "bad:..." which fails to load); {@code gate} holds loads back. */
    private AdapterStore store(long budget, CountDownLatch gate) {
        AdapterStore[] self = new AdapterStore[1];
        self[0] = new AdapterStore((key, token) -> {
            AdapterRef ref = (AdapterRef) key;
            planned.computeIfAbsent(ref.id(), k -> new AtomicInteger()).incrementAndGet();
            await(gate);
            if (ref.id().startsWith("bad")) {
                throw new AdapterException("adapter " + ref.id() + " is corrupt");
            }
            long bytes = Long.parseLong(ref.id().substring(ref.id().indexOf(':') + 1));
            return new PendingAdapter() {
                @Override
                public AdapterFootprint footprint() {
                    return new AdapterFootprint(bytes, 0);
                }

                @Override
                public LoadedAdapter materialize() {
                    peakSeen.accumulateAndGet(self[0].heldBytes(), Math::max);
                    AdapterSlot slot = new AdapterSlot(new AdapterFootprint(bytes, 0)) { };
                    return new LoadedAdapter(slot, null, java.util.Optional.empty(), "fake", new AdapterSlots() {
                        @Override
                        public AdapterFootprint footprint(List<LoraShape> shapes) {
                            throw new AssertionError("not asked");
                        }

                        @Override
                        public AdapterSlot register(List<LoraUpdate> updates) {
                            throw new AssertionError("not asked");
                        }

                        @Override
                        public void release(AdapterSlot s) {
                            assertTrue(s == slot);
                            released.computeIfAbsent(ref.id(), k -> new AtomicInteger()).incrementAndGet();
                        }
                    });
                }
            };
        }, budget, loaders, new SimpleMeterRegistry());
        return self[0];
    }

    private static void await(CountDownLatch gate) {
        try {
            gate.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    static AdapterRef ref(String id) {
        return AdapterRef.of(id, "local");
    }

    @Test
    void concurrentRequestsForANewAdapterShareOneLoad() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        AdapterStore s = store(1000, gate);
        List<AdapterStore.Lease> leases = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            leases.add(s.acquire(ref("a:100")));
        }
        gate.countDown();
        for (AdapterStore.Lease l : leases) {
            assertEquals(100, l.adapter().get(5, TimeUnit.SECONDS).footprint().total());
        }
        assertEquals(1, planned.get("a:100").get());
        assertEquals(20, s.list().getFirst().leases());
    }

    @Test
    void leastRecentlyUsedIdleAdapterIsEvictedAndLeasedOnesNeverAre() throws Exception {
        AdapterStore s = store(300, new CountDownLatch(0));
        AdapterStore.Lease a = s.acquire(ref("a:100"));
        a.adapter().get(5, TimeUnit.SECONDS);
        AdapterStore.Lease b = s.acquire(ref("b:100"));
        b.adapter().get(5, TimeUnit.SECONDS);
        AdapterStore.Lease c = s.acquire(ref("c:100"));
        c.adapter().get(5, TimeUnit.SECONDS);
        b.release();
        a.release(); // a is now the most recently used idle adapter; b the least
        s.acquire(ref("d:100")).adapter().get(5, TimeUnit.SECONDS);
        List<String> held = s.list().stream().map(i -> i.key().name()).toList();
        assertEquals(List.of("a:100", "c:100", "d:100"), held, "b, idle longest, made room");
        assertTrue(s.heldBytes() <= 300);
    }

    @Test
    void evictedAdaptersAreReleasedToTheBackendOnceAndHeldOnesNever() throws Exception {
        AdapterStore s = store(200, new CountDownLatch(0));
        for (String id : List.of("a:100", "b:100", "c:100", "d:100")) { // each load evicts the idle one loaded two before
            AdapterStore.Lease l = s.acquire(ref(id));
            l.adapter().get(5, TimeUnit.SECONDS);
            l.release();
        }
        assertEquals(Map.of("a:100", 1, "b:100", 1), Map.copyOf(released.entrySet().stream()
                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> e.getValue().get()))));
        assertEquals(List.of("c:100", "d:100"), s.list().stream().map(i -> i.key().name()).toList());
        assertEquals(200, s.heldBytes());
    }

    @Test
    void aLoadThatDoesNotFitWaitsForLeasesToEnd() throws Exception {
        AdapterStore s = store(200, new CountDownLatch(0));
        AdapterStore.Lease a = s.acquire(ref("a:100"));
        AdapterStore.Lease b = s.acquire(ref("b:100"));
        a.adapter().get(5, TimeUnit.SECONDS);
        b.adapter().get(5, TimeUnit.SECONDS);
        AdapterStore.Lease c = s.acquire(ref("c:150"));
        Thread.sleep(100);
        assertFalse(c.adapter().isDone(), "both held adapters are leased: c must wait");
        assertEquals("waiting_for_memory", s.list().stream().filter(i -> i.key().name().equals("c:150")).findFirst().orElseThrow().state());
        a.release();
        Thread.sleep(50);
        assertFalse(c.adapter().isDone(), "100 bytes free is not enough for 150");
        b.release();
        assertEquals(150, c.adapter().get(5, TimeUnit.SECONDS).footprint().total());
        assertTrue(peakSeen.get() <= 200, "held bytes never exceed the budget");
    }

    @Test
    void pinnedAdaptersStayAndUnpinnedOnesBecomeEvictable() throws Exception {
        AdapterStore s = store(200, new CountDownLatch(0));
        s.pin(ref("p:100")).adapter().get(5, TimeUnit.SECONDS);
        AdapterStore.Lease x = s.acquire(ref("x:100"));
        x.adapter().get(5, TimeUnit.SECONDS);
        x.release();
        s.acquire(ref("y:100")).adapter().get(5, TimeUnit.SECONDS);
        assertTrue(s.list().stream().anyMatch(i -> i.key().name().equals("p:100") && i.pinned()));
        assertFalse(s.list().stream().anyMatch(i -> i.key().name().equals("x:100")));
    }

    @Test
    void pinsAreCountedPerHolderSoOneHolderCannotUnpinAnothers() throws Exception {
        AdapterStore s = store(200, new CountDownLatch(0));
        AdapterStore.Lease first = s.pin(ref("p:100"));
        AdapterStore.Lease second = s.pin(ref("p:100")); // the preload list and a runtime registration
        assertTrue(first == second, "one pin lease per adapter");
        first.adapter().get(5, TimeUnit.SECONDS);
        assertEquals(1, s.heldCount());
        s.unpin(ref("p:100"));
        s.acquire(ref("y:100")).adapter().get(5, TimeUnit.SECONDS); // fills the budget
        AdapterStore.Lease z = s.acquire(ref("z:100"));
        Thread.sleep(100);
        assertFalse(z.adapter().isDone(), "the other holder's pin keeps p loaded: z waits for room");
        assertTrue(s.list().stream().anyMatch(i -> i.key().name().equals("p:100") && i.pinned()));
        s.unpin(ref("p:100"));
        assertEquals(100, z.adapter().get(5, TimeUnit.SECONDS).footprint().total(), "the last unpin lets p be evicted for z");
        assertFalse(s.list().stream().anyMatch(i -> i.key().name().equals("p:100")));
        assertEquals(2, s.heldCount());
        s.unpin(ref("p:100")); // one unpin too many changes nothing
        assertEquals(2, s.heldCount());
    }

    @Test
    void aFailedLoadFailsItsLeasesOnlyAndCanBeRetried() throws Exception {
        AdapterStore s = store(1000, new CountDownLatch(0));
        AdapterStore.Lease good = s.acquire(ref("g:100"));
        AdapterStore.Lease bad = s.acquire(ref("bad:1"));
        ExecutionException e = assertThrows(ExecutionException.class, () -> bad.adapter().get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof AdapterException);
        assertTrue(e.getCause().getMessage().contains("corrupt"));
        assertEquals(100, good.adapter().get(5, TimeUnit.SECONDS).footprint().total());
        assertEquals(0, s.list().stream().filter(i -> i.key().name().startsWith("bad")).count(), "a failure is not cached");
        assertThrows(ExecutionException.class, () -> s.acquire(ref("bad:1")).adapter().get(5, TimeUnit.SECONDS));
        assertEquals(2, planned.get("bad:1").get(), "the second request tried again");
    }

    @Test
    void anAdapterLargerThanTheWholeBudgetFailsClearly() {
        AdapterStore s = store(100, new CountDownLatch(0));
        ExecutionException e = assertThrows(ExecutionException.class, () -> s.acquire(ref("big:101")).adapter().get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("memory budget"), e.getCause().getMessage());
    }
}

package dev.loraxj.service;

import dev.loraxj.adapter.AdapterAccessException;
import dev.loraxj.adapter.AdapterRef;
import dev.loraxj.adapter.AdapterStore;
import dev.loraxj.adapter.LoadedAdapter;
import dev.loraxj.adapter.PendingAdapter;
import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlot;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A request's hold: nothing of the adapter is touched before access is granted, and each hold releases its lease once. */
class AdapterHoldTest {

    static final AdapterRef REF = AdapterRef.of("a", "local");

    private final ExecutorService loaders = Executors.newFixedThreadPool(2);
    private final AtomicInteger plans = new AtomicInteger();
    private final AdapterStore store = new AdapterStore((key, token) -> {
        plans.incrementAndGet();
        return new PendingAdapter() {
            @Override
            public AdapterFootprint footprint() {
                return new AdapterFootprint(10, 0);
            }

            @Override
            public LoadedAdapter materialize() {
                return new LoadedAdapter(new AdapterSlot(new AdapterFootprint(10, 0)) { }, null, java.util.Optional.empty(), "fake", null);
            }
        };
    }, 100, loaders, new SimpleMeterRegistry());

    @AfterEach
    void stop() {
        loaders.shutdownNow();
    }

    int leases() {
        return store.list().stream().mapToInt(AdapterStore.Info::leases).sum();
    }

    @Test
    void aRefusedCallerLoadsAndLeasesNothing() {
        AdapterHold hold = new AdapterHold(store, REF, null, CompletableFuture.failedFuture(new AdapterAccessException("refused", false)));
        ExecutionException e = assertThrows(ExecutionException.class, () -> hold.adapter().get(5, TimeUnit.SECONDS));
        assertInstanceOf(AdapterAccessException.class, e.getCause());
        hold.release();
        assertEquals(0, plans.get(), "the adapter was never fetched");
        assertTrue(store.list().isEmpty());
    }

    @Test
    void aRequestThatEndsBeforeItsCheckAnswersTakesNoLease() {
        CompletableFuture<Void> access = new CompletableFuture<>();
        AdapterHold hold = new AdapterHold(store, REF, null, access);
        hold.release();
        access.complete(null);
        assertThrows(ExecutionException.class, () -> hold.adapter().get(5, TimeUnit.SECONDS));
        assertEquals(0, plans.get());
        assertEquals(0, leases());
    }

    @Test
    void sharedHoldsLeaseOnTheOneCheckAndEachReleasesOnce() throws Exception {
        AtomicInteger checks = new AtomicInteger();
        CompletableFuture<Void> access = CompletableFuture.runAsync(checks::incrementAndGet);
        AdapterHold request = new AdapterHold(store, REF, null, access);
        assertEquals(10, request.adapter().get(5, TimeUnit.SECONDS).footprint().total());
        AdapterHold first = request.share();
        AdapterHold second = request.share();
        first.adapter().get(5, TimeUnit.SECONDS);
        second.adapter().get(5, TimeUnit.SECONDS);
        assertEquals(3, leases());
        request.release();
        request.release();
        first.release();
        assertEquals(1, leases(), "a second release of the same hold changes nothing");
        second.release();
        assertEquals(0, leases());
        assertEquals(1, checks.get(), "one access check for the request's holds");
        assertEquals(1, plans.get(), "one load");
    }

    @Test
    void theBaseModelHoldsNothing() throws Exception {
        assertNull(AdapterHold.NONE.adapter().get());
        assertNull(AdapterHold.NONE.share().adapter().get());
        AdapterHold.NONE.release();
        assertEquals(0, plans.get());
    }
}

package dev.loraxj.hardening;

import io.vertx.core.Context;
import io.vertx.core.Vertx;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Measures how long the server's event loops go without running a task: a timer on each loop
 * fires every {@link #PERIOD_MS} ms and records how late it ran. A handler that blocks a loop
 * delays that loop's timer by as long as it blocks. Intervals in which the JVM collected garbage
 * are left out: a collection pauses every thread, which says nothing about the handlers. So is the
 * time the loop thread waited for a core while other threads ran (Linux's schedstat): on a
 * two-core machine under load that is the machine's contention, not a handler holding the loop.
 */
final class EventLoopProbe implements AutoCloseable {

    static final long PERIOD_MS = 5;

    private final Vertx vertx;
    private final List<Context> contexts = new ArrayList<>();
    private final List<Long> timers = java.util.Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong worstNanos = new AtomicLong();

    /** One probe per event loop: Vert.x hands new contexts to its loops in turn. */
    EventLoopProbe(Vertx vertx, int loops) {
        this.vertx = vertx;
        for (int i = 0; i < loops; i++) {
            Context c = vertx.getOrCreateContext();
            contexts.add(c);
            c.runOnContext(v -> schedule(System.nanoTime()));
        }
    }

    private void schedule(long previous) {
        long gcBefore = collections();
        long waitedBefore = runqueueWait();
        long cpuBefore = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        long id = vertx.setTimer(PERIOD_MS, t -> {
            long now = System.nanoTime();
            long cpu = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpuBefore;
            worstCpuNanos.accumulateAndGet(cpu, Math::max);
            // time the loop was runnable but had no core (other threads ran) is the machine's, not a handler's
            long late = now - previous - PERIOD_MS * 1_000_000 - (runqueueWait() - waitedBefore);
            // a garbage collection pauses every thread; that is no request holding the loop
            if (collections() == gcBefore) {
                worstNanos.accumulateAndGet(late, Math::max);
            } else {
                gcStalls.incrementAndGet();
            }
            schedule(now);
        });
        timers.add(id);
    }

    /**
     * Nanoseconds this thread has spent runnable but waiting for a core (Linux schedstat's second
     * field); 0 where the kernel does not report it, which leaves the wall-clock measure.
     */
    private static long runqueueWait() {
        try {
            String[] f = java.nio.file.Files.readString(SCHEDSTAT).trim().split(" ");
            return Long.parseLong(f[1]);
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
    }

    private static final java.nio.file.Path SCHEDSTAT = java.nio.file.Path.of("/proc/thread-self/schedstat");

    private static long collections() {
        long n = 0;
        for (java.lang.management.GarbageCollectorMXBean gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }

    private final AtomicLong gcStalls = new AtomicLong();
    private final AtomicLong worstCpuNanos = new AtomicLong();

    /** The most CPU time a loop spent on tasks between two of its probe's ticks, in ms. */
    long worstCpuMillis() {
        return worstCpuNanos.get() / 1_000_000;
    }

    /** Probe intervals left out because a collection ran in them. */
    long intervalsWithGc() {
        return gcStalls.get();
    }

    /** The longest a probe's timer ran late, in ms. */
    long worstMillis() {
        return worstNanos.get() / 1_000_000;
    }

    void reset() {
        worstNanos.set(0);
    }

    @Override
    public void close() {
        for (Context c : contexts) {
            c.runOnContext(v -> timers.forEach(vertx::cancelTimer));
        }
    }
}

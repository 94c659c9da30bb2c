package dev.loraxj.hardening;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The probe the hostile corpus relies on sees a handler that holds a loop. */
class EventLoopProbeTest {

    @Test
    void aHandlerThatSpinsOnALoopShowsAsCpuBetweenTicks() throws Exception {
        Vertx vertx = Vertx.vertx(new io.vertx.core.VertxOptions().setEventLoopPoolSize(1));
        try (EventLoopProbe probe = new EventLoopProbe(vertx, 1)) {
            Thread.sleep(50);
            long quiet = probe.worstCpuMillis();
            System.gc(); // the probe leaves out intervals with a collection: make one during the spin unlikely
            long gcIntervals = probe.intervalsWithGc();
            Context loop = vertx.getOrCreateContext();
            CountDownLatch done = new CountDownLatch(1);
            loop.runOnContext(v -> {
                // 250 ms of this thread's CPU, however busy the machine is
                java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
                long end = threads.getCurrentThreadCpuTime() + 250_000_000L;
                long x = 0;
                while (threads.getCurrentThreadCpuTime() < end) {
                    x += System.identityHashCode(this); // work, not a sleep
                }
                if (x == 42) {
                    System.out.print("");
                }
                done.countDown();
            });
            assertTrue(done.await(5, TimeUnit.SECONDS));
            Thread.sleep(50);
            assertTrue(quiet < 50, "idle loop: " + quiet + " ms");
            assertTrue(probe.worstCpuMillis() >= 150, "a handler of 250 ms CPU: " + probe.worstCpuMillis() + " ms of CPU between ticks");
            // A collection during the spin leaves its interval out of the stall figure, by design (a collection pauses
            // every thread); the CPU figure above still shows the handler then.
            boolean collected = probe.intervalsWithGc() > gcIntervals;
            assertTrue(probe.worstMillis() >= 150 || collected, "and a stall: " + probe.worstMillis() + " ms, no collection in between");
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }
}

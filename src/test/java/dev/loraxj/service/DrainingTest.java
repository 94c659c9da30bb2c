package dev.loraxj.service;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DrainingTest {

    @Test
    void anIdleServerDoesNotWaitTheDelay() {
        Draining d = new Draining(Duration.ofSeconds(30));
        d.track(() -> 0);
        long t0 = System.nanoTime();
        assertTrue(d.awaitIdle(Duration.ofSeconds(30)));
        // generous: a loaded CI machine may stall a thread for a while, never for 30 s
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "returned at once");
    }

    @Test
    void theDrainEndsWhenTheLastRequestEndsOrAtTheDelay() throws Exception {
        Draining d = new Draining(Duration.ofSeconds(30));
        AtomicInteger inFlight = new AtomicInteger(2);
        d.track(inFlight::get);
        d.begin();
        assertTrue(d.draining());
        Thread finisher = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(200);
                inFlight.decrementAndGet();
                Thread.sleep(200);
                inFlight.decrementAndGet();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long t0 = System.nanoTime();
        assertTrue(d.awaitIdle(Duration.ofSeconds(30)));
        long waited = System.nanoTime() - t0;
        assertTrue(waited >= 350_000_000L && waited < 10_000_000_000L, "waited for both requests: " + waited / 1_000_000 + " ms");
        finisher.join();

        inFlight.set(1);
        t0 = System.nanoTime();
        assertFalse(d.awaitIdle(Duration.ofMillis(300)), "a request still running at the delay's end is left to Quarkus's timeout");
        assertTrue(System.nanoTime() - t0 >= 300_000_000L);
    }
}

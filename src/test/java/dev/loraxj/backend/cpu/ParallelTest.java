package dev.loraxj.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelTest {

    @Test
    void everyIndexRunsExactlyOnceInGrainAlignedChunks() {
        for (int threads = 1; threads <= 4; threads++) {
            try (Parallel pool = new Parallel(threads)) {
                for (int n : new int[] {1, 3, 4, 5, 17, 100, 1001}) {
                    for (int grain : new int[] {1, 4, 7}) {
                        AtomicIntegerArray hits = new AtomicIntegerArray(n);
                        int g = grain;
                        pool.forRange(n, grain, (from, to, worker) -> {
                            assertTrue(from % g == 0, "chunk start " + from + " not a multiple of " + g);
                            for (int i = from; i < to; i++) {
                                hits.incrementAndGet(i);
                            }
                        });
                        for (int i = 0; i < n; i++) {
                            assertEquals(1, hits.get(i), "index " + i + " n=" + n + " grain=" + grain);
                        }
                    }
                }
            }
        }
    }

    @Test
    void manyShortTasksInARowComplete() {
        try (Parallel pool = new Parallel(3)) {
            long[] sums = new long[3];
            for (int round = 0; round < 20_000; round++) {
                pool.forRange(3, (from, to, worker) -> sums[worker] += to - from);
            }
            assertEquals(60_000, sums[0] + sums[1] + sums[2]);
        }
    }

    @Test
    void anExceptionInAChunkReachesTheCallerAndThePoolStaysUsable() {
        try (Parallel pool = new Parallel(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.forRange(10, (from, to, worker) -> {
                if (from <= 7 && 7 < to) {
                    throw new IllegalStateException("boom");
                }
            }));
            assertEquals("boom", e.getMessage());
            int[] count = new int[1];
            pool.forRange(1, (from, to, worker) -> count[0]++);
            assertEquals(1, count[0]);
        }
    }
}

package dev.loraxj.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One pool of worker threads for the kernels; the calling thread works too. A parallel-for cuts a
 * range into a few contiguous chunks per thread that threads claim in turn, and the caller waits only
 * for chunks being run, never for a thread that has not woken up yet: a thread the OS descheduled
 * (common on small, shared VMs) does not hold the step up. Workers spin briefly between tasks and
 * then park, because a decode step issues ~100 short parallel-fors and a park/unpark per task would
 * cost more than the work. Which thread runs a chunk must never change a result (the kernels compute
 * every output in a fixed order). Not reentrant: one caller at a time (the engine thread).
 */
public final class Parallel implements AutoCloseable {

    /** The work of one chunk: items {@code [from, to)}, run by thread {@code worker} (0 = caller); a thread may run several. */
    @FunctionalInterface
    public interface Body {
        void run(int from, int to, int worker);
    }

    private static final long SPIN_NANOS = 1_000_000;
    // After this long spinning, yield the CPU on each check: on an oversubscribed machine the thread
    // we wait for may need our core.
    private static final long YIELD_AFTER_NANOS = 50_000;
    private static final int CHUNKS_PER_THREAD = 4;
    private static final int BITS = 20;
    private static final long MASK = (1L << BITS) - 1;
    private static final int MAX_CHUNKS = (int) MASK;

    private final int threads;
    private final Worker[] workers;
    // The task word: generation (24 bits) | next chunk to claim (20) | number of chunks (20). Claiming is
    // one CAS on it, so a late thread sees a newer generation or no chunk left and touches nothing else.
    private final AtomicLong work = new AtomicLong();
    private final AtomicInteger done = new AtomicInteger();
    private volatile boolean closed;
    private volatile Throwable failure;
    private long generation;
    // The current task; published by the volatile write of work, stable until all its chunks are done.
    private Body body;
    private int n;
    private int chunkSize;

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            workers[i].thread.start();
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code body} over {@code [0, n)} in chunks whose bounds are multiples of {@code grain}. */
    public void forRange(int n, int grain, Body body) {
        forRange(n, grain, CHUNKS_PER_THREAD, body);
    }

    /** Same as {@code forRange(n, 1, body)}. */
    public void forRange(int n, Body body) {
        forRange(n, 1, body);
    }

    /**
     * As {@link #forRange(int, int, Body)} with about {@code chunksPerThread} chunks per thread: more
     * balance the load better, fewer keep streams through memory longer.
     */
    public void forRange(int n, int grain, int chunksPerThread, Body body) {
        if (closed) {
            throw new IllegalStateException("Parallel pool is closed");
        }
        if (n <= 0) {
            return;
        }
        int g = Math.max(1, grain);
        int units = (n + g - 1) / g;
        if (threads == 1 || units == 1) {
            body.run(0, n, 0);
            return;
        }
        int target = (int) Math.min(MAX_CHUNKS, (long) threads * Math.max(1, chunksPerThread));
        int unitsPerChunk = Math.max(1, (units + target - 1) / target);
        int numChunks = (units + unitsPerChunk - 1) / unitsPerChunk;
        this.body = body;
        this.n = n;
        this.chunkSize = unitsPerChunk * g;
        this.failure = null;
        done.set(0);
        generation = (generation + 1) & ((1L << (64 - 2 * BITS)) - 1);
        work.set(generation << (2 * BITS) | numChunks);
        for (Worker w : workers) {
            if (w.parked) {
                LockSupport.unpark(w.thread);
            }
        }
        runChunks(generation, 0);
        if (done.get() != numChunks) {
            long waitStart = System.nanoTime();
            while (done.get() != numChunks) {
                if (System.nanoTime() - waitStart < YIELD_AFTER_NANOS) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }
        this.body = null;
        Throwable f = failure;
        if (f != null) {
            failure = null;
            if (f instanceof RuntimeException re) {
                throw re;
            }
            if (f instanceof Error e) {
                throw e;
            }
            throw new RuntimeException(f);
        }
    }

    /** Claims and runs chunks of generation {@code gen} until none is left. */
    private void runChunks(long gen, int worker) {
        while (true) {
            long w = work.get();
            int next = (int) ((w >>> BITS) & MASK);
            if (w >>> (2 * BITS) != gen || next >= (int) (w & MASK)) {
                return;
            }
            if (!work.compareAndSet(w, w + (1L << BITS))) {
                continue;
            }
            try {
                int from = next * chunkSize;
                body.run(from, Math.min(n, from + chunkSize), worker);
            } catch (Throwable t) {
                failure = t;
            } finally {
                done.incrementAndGet();
            }
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
        }
        for (Worker w : workers) {
            try {
                w.thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private final class Worker implements Runnable {
        final int index;
        final Thread thread;
        volatile boolean parked;

        Worker(int index) {
            this.index = index;
            this.thread = new Thread(this, "loraxj-cpu-" + index);
            this.thread.setDaemon(true);
        }

        @Override
        public void run() {
            long seen = 0;
            while (true) {
                long spinStart = System.nanoTime();
                long g;
                while ((g = work.get() >>> (2 * BITS)) == seen && !closed) {
                    long spun = System.nanoTime() - spinStart;
                    if (spun < YIELD_AFTER_NANOS) {
                        Thread.onSpinWait();
                    } else if (spun < SPIN_NANOS) {
                        Thread.yield();
                    } else {
                        parked = true;
                        // Re-check after announcing, so an unpark sent before we park is not lost.
                        if (work.get() >>> (2 * BITS) == seen && !closed) {
                            LockSupport.park(this);
                        }
                        parked = false;
                    }
                }
                if (closed) {
                    return;
                }
                seen = g;
                runChunks(g, index);
            }
        }
    }
}

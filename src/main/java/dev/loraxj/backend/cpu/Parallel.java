package dev.loraxj.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * One pool of worker threads for the kernels; the calling thread works too. A parallel-for cuts a
 * range into a few contiguous chunks per thread that threads claim in turn, so a thread the OS
 * descheduled for a moment (common on small VMs) does not hold the step up. Workers spin briefly
 * between tasks and then park, because a decode step issues ~100 short parallel-fors and a
 * park/unpark per task would cost more than the work. Which thread runs a chunk must never change a
 * result (the kernels compute every output in a fixed order). Not reentrant: one caller at a time.
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
    private static final int CHUNKS_PER_THREAD = 8;

    private final int threads;
    private final Worker[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger nextChunk = new AtomicInteger();
    private volatile long generation;
    private volatile boolean closed;
    private volatile Throwable failure;
    // The current task; published by the volatile write of generation.
    private Body body;
    private int n;
    private int chunkSize;
    private int numChunks;

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
        int unitsPerChunk = Math.max(1, (units + threads * CHUNKS_PER_THREAD - 1) / (threads * CHUNKS_PER_THREAD));
        this.body = body;
        this.n = n;
        this.chunkSize = unitsPerChunk * g;
        this.numChunks = (units + unitsPerChunk - 1) / unitsPerChunk;
        nextChunk.set(0);
        this.failure = null;
        pending.set(threads - 1);
        generation = generation + 1;
        for (Worker w : workers) {
            if (w.parked) {
                LockSupport.unpark(w.thread);
            }
        }
        try {
            runChunk(0);
        } catch (Throwable t) {
            failure = t;
        }
        if (pending.get() != 0) {
            long waitStart = System.nanoTime();
            while (pending.get() != 0) {
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

    /** Same as {@code forRange(n, 1, body)}. */
    public void forRange(int n, Body body) {
        forRange(n, 1, body);
    }

    private void runChunk(int worker) {
        int c;
        while ((c = nextChunk.getAndIncrement()) < numChunks) {
            int from = c * chunkSize;
            body.run(from, Math.min(n, from + chunkSize), worker);
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
                while ((g = generation) == seen && !closed) {
                    long spun = System.nanoTime() - spinStart;
                    if (spun < YIELD_AFTER_NANOS) {
                        Thread.onSpinWait();
                    } else if (spun < SPIN_NANOS) {
                        Thread.yield();
                    } else {
                        parked = true;
                        // Re-check after announcing, so an unpark sent before we park is not lost.
                        if (generation == seen && !closed) {
                            LockSupport.park(this);
                        }
                        parked = false;
                    }
                }
                if (closed) {
                    return;
                }
                seen = g;
                try {
                    runChunk(index);
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    pending.decrementAndGet();
                }
            }
        }
    }
}

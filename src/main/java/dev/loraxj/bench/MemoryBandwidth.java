package dev.loraxj.bench;

import dev.loraxj.backend.cpu.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * STREAM-style bandwidth over two off-heap buffers far larger than the caches, run on the same pool
 * as the kernels: copy (bytes read + written, as STREAM counts them) and a read-only sum. The buffers
 * are kept so passes can be interleaved with the decode runs (bandwidth drifts on shared hosts).
 */
public final class MemoryBandwidth implements AutoCloseable {

    /** GB/s (1e9 bytes): copy by MemorySegment.copy (memcpy), copy by a vector loop, and read-only. */
    public record Result(double copyMemcpyGBs, double copyVectorGBs, double readGBs) {
        /** The copy baseline: the faster of the two copies. */
        public double copyGBs() {
            return Math.max(copyVectorGBs, copyMemcpyGBs);
        }
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final long CHUNK = 1 << 20;

    private final Parallel pool;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment a;
    private final MemorySegment b;
    private final int chunks;
    private final float[] sink;

    public MemoryBandwidth(Parallel pool, long bufferBytes) {
        this.pool = pool;
        long bytes = Math.max(CHUNK, bufferBytes / CHUNK * CHUNK);
        this.chunks = (int) (bytes / CHUNK);
        this.a = arena.allocate(bytes, 4096);
        this.b = arena.allocate(bytes, 4096);
        this.sink = new float[pool.threads()];
        // Fault the pages in from the threads that will use them.
        pool.forRange(chunks, (from, to, w) -> {
            a.asSlice(from * CHUNK, (to - from) * CHUNK).fill((byte) 1);
            b.asSlice(from * CHUNK, (to - from) * CHUNK).fill((byte) 2);
        });
    }

    public long bufferBytes() {
        return a.byteSize();
    }

    /** The times of one pass of each kind. */
    public record Pass(long memcpyNanos, long vectorNanos, long readNanos) {
    }

    /** One pass of each kind: memcpy copy, vector copy, read-only sum. */
    public Pass pass() {
        long t0 = System.nanoTime();
        pool.forRange(chunks, (from, to, w) -> {
            for (int c = from; c < to; c++) {
                MemorySegment.copy(a, c * CHUNK, b, c * CHUNK, CHUNK);
            }
        });
        long t1 = System.nanoTime();
        pool.forRange(chunks, (from, to, w) -> {
            for (int c = from; c < to; c++) {
                copyVector(b, a, c * CHUNK);
            }
        });
        long t2 = System.nanoTime();
        pool.forRange(chunks, (from, to, w) -> {
            for (int c = from; c < to; c++) {
                sink[w] += sum(a, c * CHUNK) + sum(b, c * CHUNK);
            }
        });
        long t3 = System.nanoTime();
        return new Pass(t1 - t0, t2 - t1, t3 - t2);
    }

    /** Rates over several passes taken together (total bytes over total time). */
    public Result aggregate(java.util.List<Pass> passes) {
        long m = 0, v = 0, r = 0;
        for (Pass p : passes) {
            m += p.memcpyNanos();
            v += p.vectorNanos();
            r += p.readNanos();
        }
        double bytes = 2.0 * a.byteSize() * passes.size();
        return new Result(bytes / m, bytes / v, bytes / r);
    }

    /**
     * Passes until two in a row read within 10% of each other (3 to 12 passes): the first passes after
     * start-up, a model load or a JIT warm-up read at a fraction of the steady rate.
     */
    public Result warmUp() {
        double last = 0;
        Result one = null;
        for (int i = 0; i < 12; i++) {
            one = aggregate(java.util.List.of(pass()));
            if (i >= 2 && Math.abs(one.readGBs() - last) <= 0.1 * Math.max(one.readGBs(), last)) {
                break;
            }
            last = one.readGBs();
        }
        return one;
    }

    private static void copyVector(MemorySegment src, MemorySegment dst, long off) {
        int step = F.vectorByteSize();
        for (long i = off, end = off + CHUNK; i < end; i += 4L * step) {
            FloatVector.fromMemorySegment(F, src, i, LE).intoMemorySegment(dst, i, LE);
            FloatVector.fromMemorySegment(F, src, i + step, LE).intoMemorySegment(dst, i + step, LE);
            FloatVector.fromMemorySegment(F, src, i + 2L * step, LE).intoMemorySegment(dst, i + 2L * step, LE);
            FloatVector.fromMemorySegment(F, src, i + 3L * step, LE).intoMemorySegment(dst, i + 3L * step, LE);
        }
    }

    /** Sums a chunk as two sequential streams half a chunk apart: the fastest read pattern measured here. */
    private static float sum(MemorySegment s, long off) {
        int step = F.vectorByteSize();
        long half = CHUNK / 2;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (long i = off, end = off + half; i < end; i += 2L * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, s, i, LE));
            a1 = a1.add(FloatVector.fromMemorySegment(F, s, i + step, LE));
            a2 = a2.add(FloatVector.fromMemorySegment(F, s, i + half, LE));
            a3 = a3.add(FloatVector.fromMemorySegment(F, s, i + half + step, LE));
        }
        return a0.add(a1).add(a2).add(a3).lane(0);
    }

    @Override
    public void close() {
        arena.close();
    }
}

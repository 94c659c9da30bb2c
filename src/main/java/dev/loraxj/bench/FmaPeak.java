package dev.loraxj.bench;

import dev.loraxj.backend.cpu.CpuVectors;
import dev.loraxj.backend.cpu.Parallel;
import dev.loraxj.model.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The compute baseline beside the memory one: FMA throughput on the kernels' species over the same
 * pool, from 12 independent chains per thread (enough to cover FMA latency × ports on AVX2 and AVX-512),
 * so batched decode, which compute binds, can be stated as a fraction of it.
 */
public final class FmaPeak {

    private static final VectorSpecies<Float> F = CpuVectors.species();
    private static final int CHAINS = 12;
    private static final int ITERATIONS = 4_000_000;

    private FmaPeak() {
    }

    /** GFLOP/s (an FMA counts 2), the best of a few passes. */
    public static double measure(Parallel pool) {
        int chunks = pool.threads() * 4;
        float[] sink = new float[chunks];
        double best = 0;
        for (int pass = 0; pass < 5; pass++) {
            long start = System.nanoTime();
            pool.forRange(chunks, (from, to, w) -> {
                for (int c = from; c < to; c++) {
                    sink[c] = chains(c);
                }
            });
            long nanos = System.nanoTime() - start;
            best = Math.max(best, 2.0 * chunks * ITERATIONS * CHAINS * F.length() / nanos);
        }
        if (Float.isNaN(sink[0])) {
            throw new IllegalStateException("FMA probe diverged"); // also keeps the chains live
        }
        return best;
    }

    /** acc = acc * m + a, converging to a fixed point, so no chain overflows or goes subnormal. */
    private static float chains(int seed) {
        FloatVector m = FloatVector.broadcast(F, 0.999f), a = FloatVector.broadcast(F, 1e-3f * (seed + 1));
        FloatVector c0 = FloatVector.broadcast(F, 0.1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < ITERATIONS; i++) {
            c0 = c0.fma(m, a); c1 = c1.fma(m, a); c2 = c2.fma(m, a); c3 = c3.fma(m, a);
            c4 = c4.fma(m, a); c5 = c5.fma(m, a); c6 = c6.fma(m, a); c7 = c7.fma(m, a);
            c8 = c8.fma(m, a); c9 = c9.fma(m, a); c10 = c10.fma(m, a); c11 = c11.fma(m, a);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11).lane(0);
    }

    /** Prints batched decode's arithmetic (2 flops per weight per token) as a share of {@code peak}; F32 and BF16 only. */
    static void printShare(Bench.ModelReport report, int[] batches, double peak, PrintStream out) {
        if (report.dtype() != DType.F32 && report.dtype() != DType.BF16) {
            return;
        }
        double flopsPerToken = 2.0 * report.weightBytesPerToken() / report.dtype().bytes();
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  compute: FMA peak %.1f GFLOP/s;", peak));
        for (int i = 0; i < batches.length; i++) {
            double gflops = report.batchedTokensPerSecond(i) * flopsPerToken / 1e9;
            line.append(String.format(Locale.ROOT, " b%d %.1f GFLOP/s (%.0f%%)", batches[i], gflops, 100 * gflops / peak));
        }
        out.println(line);
    }
}

package dev.loraxj.backend.cpu;

import dev.loraxj.model.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Batched {@code y[T, out] = x[T, in] · Wᵀ (+ bias)} over F32 or BF16 weights read in place.
 * Hand-written because no Java BLAS reads BF16 or mmap'd segments, and we need a fixed operation order.
 *
 * <p>Every output is one dot product with one vector accumulator over k in order, then a fixed
 * tree reduction ({@link Vec#sum}), then the scalar tail of k, then the bias. Both tile shapes follow
 * exactly this sequence, so a result does not depend on the tile it lands in. One token walks its
 * rows as two far-apart sequential streams, one row of each at a time: few long streams read memory
 * fastest here (measured: ~30% more than 4 interleaved adjacent rows) and two FMA chains hide latency.
 * Four or more tokens use register tiles sized to the vector registers ({@link CpuVectors#TILE}: 4 rows × 6
 * tokens with AVX-512, 4 × 3 with AVX2; BF16 widened in registers 4 × 4 and 2 × 4) over L2-sized blocks of rows, so
 * each weight vector loaded feeds several tokens from registers, and the reductions are packed ({@link Vec#sums16},
 * {@link Vec#sums8}).
 *
 * <p>BF16 kernels read 32 weights as 16 ints: {@code int << 16} gives the even weights as floats and
 * {@code int & 0xFFFF0000} the odd ones, so the input must be in {@link #layout} order (each 32-float
 * chunk split into its even then odd elements). That needs no shuffles and one full-line load per 32 weights.
 */
public final class Matmul {

    static final VectorSpecies<Float> F = Vec.F;
    static final int L = F.length();
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    /**
     * Per-thread room for a tile's accumulators and for BF16 or quantized rows widened to F32. The rows are off-heap
     * like the weights: C2 does not intrinsify vector loads at a site that sees both heap and native segments.
     */
    private static final class Scratch {
        final float[] sums = new float[Vec.SUMS_AT + 32];
        private MemorySegment rows = MemorySegment.NULL;

        MemorySegment rows(int n) {
            if (rows.byteSize() < (long) n * Float.BYTES) {
                rows = java.lang.foreign.Arena.ofAuto().allocate((long) n * Float.BYTES, 64);
            }
            return rows;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Bytes of weight rows a thread keeps in L2 while the batch's token tiles pass over them. */
    private static final int BLOCK_BYTES = 64 << 10;

    /**
     * Batch from which BF16 tiles run on rows widened once per block: the widening pass then serves 4 or more
     * token tiles, and beats the BF16 tile's shift and mask per weight vector per tile (measured on the 110m bench: about 10% at batch 32).
     */
    static final int WIDEN_TOKENS = 16;

    /** Weight rows per tile; parallel chunks are aligned to it. */
    public static final int ROWS = 4;

    private Matmul() {
    }

    /** Convenience for tests and one-off calls: lays out {@code x} for {@code w} and computes all rows. */
    public static void apply(Linear w, float[] x, int T, float[] y) {
        float[] in = x;
        if (ownInput(w)) {
            in = new float[T * w.cols()];
            layout(w, x, T, in);
        }
        rows(w, in, T, y, 0, w.rows());
    }

    /** Whether {@code w}'s kernel reads its input in another order than x's: BF16's split chunks, or a GPTQ act order. */
    static boolean ownInput(Linear w) {
        return w.dtype() == DType.BF16 || w.permutesInput();
    }

    /** Whether {@code a} and {@code b} read their input in the same order, so one laid-out copy serves both. */
    static boolean sameInput(Linear a, Linear b) {
        if (a.cols() != b.cols() || ownInput(a) != ownInput(b)) {
            return false;
        }
        if (a.dtype() == DType.BF16 || b.dtype() == DType.BF16) {
            return a.dtype() == b.dtype();
        }
        return !a.permutesInput() || a.zeros().inputOrder() == b.zeros().inputOrder(); // the loader shares equal orders
    }

    /** Writes {@code x[T, w.cols]} in the order {@code w}'s kernel reads it into {@code out}. */
    static void layout(Linear w, float[] x, int T, float[] out) {
        if (w.permutesInput()) {
            U4Tiles.gather(w.zeros().inputOrder(), x, T, w.cols(), out);
        } else {
            layout(w.dtype(), x, T, w.cols(), out);
        }
    }

    /**
     * Writes {@code x[T, in]} in the order the kernel for {@code dtype} reads it into {@code out}
     * (F32: as is; BF16: each full 32-float chunk as its 16 even then 16 odd elements).
     */
    public static void layout(DType dtype, float[] x, int T, int in, float[] out) {
        if (dtype != DType.BF16) {
            System.arraycopy(x, 0, out, 0, T * in);
            return;
        }
        int chunks = in / (2 * L) * (2 * L);
        for (int t = 0; t < T; t++) {
            int o = t * in;
            for (int c = 0; c < chunks; c += 2 * L) {
                for (int j = 0; j < L; j++) {
                    out[o + c + j] = x[o + c + 2 * j];
                    out[o + c + L + j] = x[o + c + 2 * j + 1];
                }
            }
            System.arraycopy(x, o + chunks, out, o + chunks, in - chunks);
        }
    }

    /**
     * Single-threaded: rows {@code [r0, r1)} of {@code y[T, w.rows]} for all T tokens of {@code x[T, w.cols]},
     * with x in {@link #layout} order for {@code w.dtype()}.
     */
    public static void rows(Linear w, float[] x, int T, float[] y, int r0, int r1) {
        if (w.dtype() == DType.I8 || w.dtype() == DType.I4 || w.dtype() == DType.U4) {
            rowsQuantized(w, x, T, y, r0, r1);
            return;
        }
        boolean bf16 = w.dtype() == DType.BF16;
        MemorySegment seg = w.data();
        int in = w.cols();
        int out = w.rows();
        float[] bias = w.bias();
        int r = r0;
        if (T >= 4) {
            Scratch scratch = SCRATCH.get();
            // From WIDEN_TOKENS tokens on, BF16 rows are widened once per block and the F32 tile reuses them
            // over 4+ token tiles; fewer tokens widen in registers, inside the BF16 tile. Same bits either way.
            boolean widened = bf16 && T >= WIDEN_TOKENS;
            // Blocks of rows small enough to stay in L2 while every token tile passes over them, so the
            // weights come from memory once per step.
            int block = Math.max(4, BLOCK_BYTES / (in * (bf16 && !widened ? 2 : 4)) / 4 * 4);
            MemorySegment tileW = widened ? scratch.rows(block * in) : seg;
            int kEnd = bf16 ? in / (2 * L) * (2 * L) : F.loopBound(in);
            for (; r + 4 <= r1; ) {
                int blockEnd = Math.min(r1 - (r1 - r) % 4, r + block);
                if (widened) {
                    Bf16Tiles.widen(seg, in, r, blockEnd - r, tileW);
                }
                if (bf16 && !widened) {
                    int tEnd = T / Bf16Tiles.TOKENS * Bf16Tiles.TOKENS;
                    for (int t = 0; t < tEnd; t += Bf16Tiles.TOKENS) {
                        for (int g = r; g < blockEnd; g += Bf16Tiles.ROWS) {
                            Bf16Tiles.tile(seg, in, out, bias, g, x, t, y, scratch.sums);
                        }
                    }
                    for (int i = r; i < blockEnd; i++) {
                        for (int tt = tEnd; tt < T; tt++) {
                            y[tt * out + i] = Bf16Tiles.dot(seg, in, bias, i, x, tt);
                        }
                    }
                } else {
                    f32Tiles(tileW, widened ? r : 0, in, kEnd, out, bias, r, blockEnd, x, T, y, scratch.sums);
                }
                r = blockEnd;
            }
        }
        if (T == 1 && r < r1) {
            // Two far-apart rows at once: two FMA chains to hide latency, two long sequential streams.
            int half = (r1 - r) / 2;
            for (int i = 0; i < half; i++) {
                if (bf16) {
                    Bf16Tiles.dot2(seg, in, bias, r + i, r + half + i, x, y);
                } else {
                    dot2(seg, in, bias, r + i, r + half + i, x, y);
                }
            }
            r += 2 * half;
        }
        for (; r < r1; r++) {
            for (int t = 0; t < T; t++) {
                y[t * out + r] = bf16 ? Bf16Tiles.dot(seg, in, bias, r, x, t) : dot(seg, in, bias, r, x, t);
            }
        }
    }

    /**
     * {@link #rows} over int8, int4 or uint4 weights: batched tiles run the F32 tile over rows dequantized as
     * {@link I8Tiles#dot}, {@link I4Tiles#dot} and {@link U4Tiles#dot} compute them.
     */
    private static void rowsQuantized(Linear w, float[] x, int T, float[] y, int r0, int r1) {
        int in = w.cols();
        int out = w.rows();
        int r = r0;
        if (T >= 4) {
            Scratch scratch = SCRATCH.get();
            int block = Math.max(4, BLOCK_BYTES / (in * 4) / 4 * 4);
            MemorySegment tileW = scratch.rows(block * in);
            int kEnd = F.loopBound(in);
            for (; r + 4 <= r1; ) {
                int blockEnd = Math.min(r1 - (r1 - r) % 4, r + block);
                widenQuantized(w, r, blockEnd - r, tileW);
                f32Tiles(tileW, r, in, kEnd, out, w.bias(), r, blockEnd, x, T, y, scratch.sums);
                r = blockEnd;
            }
        }
        if (T == 1 && r < r1) {
            int half = (r1 - r) / 2;
            for (int i = 0; i < half; i++) {
                switch (w.dtype()) {
                    case I4 -> I4Tiles.dot2(w.data(), w.scales(), in, w.bias(), r + i, r + half + i, x, y);
                    case U4 -> U4Tiles.dot2(w, r + i, r + half + i, x, y);
                    default -> I8Tiles.dot2(w.data(), w.scales(), in, w.bias(), r + i, r + half + i, x, y);
                }
            }
            r += 2 * half;
        }
        for (; r < r1; r++) {
            for (int t = 0; t < T; t++) {
                y[t * out + r] = dotQuantized(w, r, x, t);
            }
        }
    }

    /**
     * Rows {@code [r, rEnd)} (a multiple of 4) × all T tokens through the F32 tiles, with row {@code g}'s weights at
     * row {@code g - base} of {@code w}: tiles as wide as {@link F32Tiles#width} gives them.
     */
    private static void f32Tiles(MemorySegment w, int base, int in, int kEnd, int out, float[] bias, int r, int rEnd, float[] x,
                                 int T, float[] y, float[] sums) {
        for (int t = 0, n; t < T; t += n) {
            n = F32Tiles.width(T - t);
            for (int g = r; g < rEnd; g += F32Tiles.ROWS) {
                F32Tiles.tile(w, (long) (g - base) * in * 4, in, kEnd, out, bias, g, x, t, n, y, sums);
            }
        }
    }

    private static float dotQuantized(Linear w, int r, float[] x, int t) {
        return switch (w.dtype()) {
            case I4 -> I4Tiles.dot(w.data(), w.scales(), w.cols(), w.bias(), r, x, t);
            case U4 -> U4Tiles.dot(w, r, x, t);
            default -> I8Tiles.dot(w.data(), w.scales(), w.cols(), w.bias(), r, x, t);
        };
    }

    private static void widenQuantized(Linear w, int r, int n, MemorySegment dst) {
        switch (w.dtype()) {
            case I4 -> I4Tiles.widen(w.data(), w.scales(), w.cols(), r, n, dst);
            case U4 -> U4Tiles.widen(w, r, n, dst);
            default -> I8Tiles.widen(w.data(), w.scales(), w.cols(), r, n, dst);
        }
    }

    /** {@code y[ra]} and {@code y[rb]} for one token, each exactly as {@link #dot} computes it. */
    private static void dot2(MemorySegment w, int in, float[] bias, int ra, int rb, float[] x, float[] y) {
        long wa = (long) ra * in * 4, wb = (long) rb * in * 4;
        FloatVector a = FloatVector.zero(F), b = a;
        int kEnd = F.loopBound(in);
        for (int k = 0; k < kEnd; k += L) {
            FloatVector xv = FloatVector.fromArray(F, x, k);
            a = FloatVector.fromMemorySegment(F, w, wa + k * 4L, LE).fma(xv, a);
            b = FloatVector.fromMemorySegment(F, w, wb + k * 4L, LE).fma(xv, b);
        }
        y[ra] = finish(a, w, wa, x, 0, kEnd, in, bias, ra);
        y[rb] = finish(b, w, wb, x, 0, kEnd, in, bias, rb);
    }

    /** Row {@code r} of W · token {@code t} of x, plus bias. */
    static float dot(MemorySegment w, int in, float[] bias, int r, float[] x, int t) {
        long wr = (long) r * in * 4;
        int xr = t * in;
        FloatVector a = FloatVector.zero(F);
        int kEnd = F.loopBound(in);
        for (int k = 0; k < kEnd; k += L) {
            a = FloatVector.fromMemorySegment(F, w, wr + k * 4L, LE).fma(FloatVector.fromArray(F, x, xr + k), a);
        }
        return finish(a, w, wr, x, xr, kEnd, in, bias, r);
    }

    /** The end of every F32 dot product: the reduced accumulator, plus the scalar tail of k, plus the bias. */
    private static float finish(FloatVector acc, MemorySegment w, long wr, float[] x, int xr, int kEnd, int in, float[] bias, int r) {
        float s = F32Tiles.tail(Vec.sum(acc), w, wr, x, xr, kEnd, in);
        return bias == null ? s : s + bias[r];
    }

}

package dev.loraxj.backend.cpu;

import dev.loraxj.model.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The BF16 kernels of {@link Matmul}. Per 2L weights: one int load, {@code << 16} for the even
 * weights, {@code & 0xFFFF0000} for the odd ones (both exact widenings), then one FMA with the even
 * inputs and one with the odd inputs into the output's single accumulator, in that order. The input
 * is in {@link Matmul#layout} order. Batched tiles reuse the F32 tile on rows widened in this order.
 */
final class Bf16Tiles {

    private static final VectorSpecies<Float> F = Matmul.F;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int L = Matmul.L;
    private static final int C = 2 * L;
    private static final IntVector HIGH = IntVector.broadcast(I, 0xFFFF0000);

    private Bf16Tiles() {
    }

    private static FloatVector even(IntVector v) {
        return v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector odd(IntVector v) {
        return v.and(HIGH).reinterpretAsFloats();
    }

    private static IntVector load(MemorySegment w, long byteOff) {
        return IntVector.fromMemorySegment(I, w, byteOff, Matmul.LE);
    }

    static float dot(MemorySegment w, int in, float[] bias, int r, float[] x, int t) {
        long wr = (long) r * in * 2;
        int xr = t * in;
        FloatVector a = FloatVector.zero(F);
        int kEnd = in / C * C;
        for (int k = 0; k < kEnd; k += C) {
            IntVector v = load(w, wr + k * 2L);
            a = even(v).fma(FloatVector.fromArray(F, x, xr + k), a);
            a = odd(v).fma(FloatVector.fromArray(F, x, xr + k + L), a);
        }
        return finish(a, w, wr, x, xr, kEnd, in, bias, r);
    }

    /** {@code y[ra]} and {@code y[rb]} for one token, each exactly as {@link #dot} computes it. */
    static void dot2(MemorySegment w, int in, float[] bias, int ra, int rb, float[] x, float[] y) {
        long wa = (long) ra * in * 2, wb = (long) rb * in * 2;
        FloatVector a = FloatVector.zero(F), b = a;
        int kEnd = in / C * C;
        for (int k = 0; k < kEnd; k += C) {
            FloatVector xe = FloatVector.fromArray(F, x, k), xo = FloatVector.fromArray(F, x, k + L);
            IntVector va = load(w, wa + k * 2L);
            IntVector vb = load(w, wb + k * 2L);
            a = even(va).fma(xe, a);
            b = even(vb).fma(xe, b);
            a = odd(va).fma(xo, a);
            b = odd(vb).fma(xo, b);
        }
        y[ra] = finish(a, w, wa, x, 0, kEnd, in, bias, ra);
        y[rb] = finish(b, w, wb, x, 0, kEnd, in, bias, rb);
    }

    /**
     * Widens rows {@code r..r+n} into {@code dst} (F32, row stride in) in the order {@link #dot} consumes
     * them: each full 2L chunk as its L even then L odd weights, the tail as is. Exact, so the F32 tile
     * over {@code dst} and {@link Matmul#layout} input computes every output exactly as {@link #dot}.
     */
    static void widen(MemorySegment w, int in, int r, int n, MemorySegment dst) {
        int kEnd = in / C * C;
        for (int i = 0; i < n; i++) {
            long wr = (long) (r + i) * in * 2;
            long dr = (long) i * in * 4;
            for (int k = 0; k < kEnd; k += C) {
                IntVector v = load(w, wr + k * 2L);
                even(v).intoMemorySegment(dst, dr + k * 4L, Matmul.LE);
                odd(v).intoMemorySegment(dst, dr + (k + L) * 4L, Matmul.LE);
            }
            for (int k = kEnd; k < in; k++) {
                dst.set(Matmul.F32, dr + k * 4L, DType.bf16ToFloat(w.get(Matmul.I16, wr + k * 2L)));
            }
        }
    }

    private static float finish(FloatVector acc, MemorySegment w, long wr, float[] x, int xr, int kEnd, int in, float[] bias, int r) {
        float s = tail(Vec.sum(acc), w, wr, x, xr, kEnd, in);
        return bias == null ? s : s + bias[r];
    }

    private static float tail(float s, MemorySegment w, long wr, float[] x, int xr, int kEnd, int in) {
        for (int k = kEnd; k < in; k++) {
            s += DType.bf16ToFloat(w.get(Matmul.I16, wr + k * 2L)) * x[xr + k];
        }
        return s;
    }
}

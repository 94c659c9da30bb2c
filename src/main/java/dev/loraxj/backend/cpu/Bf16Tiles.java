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
 * is in {@link Matmul#layout} order. Batched tiles widen the same way in registers, in the same order.
 */
final class Bf16Tiles {

    private static final VectorSpecies<Float> F = Matmul.F;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int L = Matmul.L;
    private static final int C = 2 * L;
    /** Rows of one tile ({@link CpuVectors#BF16_TILE}); it always takes {@link #TOKENS} tokens. */
    static final int ROWS = CpuVectors.BF16_TILE.rows();
    static final int TOKENS = 4;
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
     * Rows r.. of one {@link CpuVectors#BF16_TILE} × tokens t.., each output exactly as {@link #dot}: the weights
     * widen in registers inside the loop, so a batched step streams the BF16 bytes and makes no F32 copy.
     */
    static void tile(MemorySegment w, int in, int out, float[] bias, int r, float[] x, int t, float[] y, float[] sums) {
        if (ROWS == 4) {
            tile44(w, in, out, bias, r, x, t, y, sums);
        } else {
            tile24(w, in, out, bias, r, x, t, y, sums);
        }
    }

    /**
     * Steps over the laid-out input L floats at a time: the weights of half h of a 2L chunk are its ints
     * shifted left by 16 (h even) or 0 (h odd) then masked to the high half, the same exact widening as
     * {@link #even} and {@link #odd}, in the same order. One half per step keeps the loop small enough for
     * C2 to inline every vector op (the even-and-odd body hit its node cutoff and ran boxed).
     */
    private static void tile44(MemorySegment w, int in, int out, float[] bias, int r, float[] x, int t, float[] y, float[] sums) {
        long w0 = (long) r * in * 2, w1 = w0 + in * 2L, w2 = w1 + in * 2L, w3 = w2 + in * 2L;
        int x0 = t * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        int kEnd = in / C * C;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        for (int k = 0; k < kEnd; k += L) {
            long kb = (k & -C) * 2L;
            int shift = (k & L) == 0 ? 16 : 0;
            FloatVector b0 = FloatVector.fromArray(F, x, x0 + k);
            FloatVector b1 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector b2 = FloatVector.fromArray(F, x, x2 + k);
            FloatVector b3 = FloatVector.fromArray(F, x, x3 + k);
            FloatVector v = load(w, w0 + kb).lanewise(VectorOperators.LSHL, shift).and(HIGH).reinterpretAsFloats();
            a00 = v.fma(b0, a00); a01 = v.fma(b1, a01); a02 = v.fma(b2, a02); a03 = v.fma(b3, a03);
            v = load(w, w1 + kb).lanewise(VectorOperators.LSHL, shift).and(HIGH).reinterpretAsFloats();
            a10 = v.fma(b0, a10); a11 = v.fma(b1, a11); a12 = v.fma(b2, a12); a13 = v.fma(b3, a13);
            v = load(w, w2 + kb).lanewise(VectorOperators.LSHL, shift).and(HIGH).reinterpretAsFloats();
            a20 = v.fma(b0, a20); a21 = v.fma(b1, a21); a22 = v.fma(b2, a22); a23 = v.fma(b3, a23);
            v = load(w, w3 + kb).lanewise(VectorOperators.LSHL, shift).and(HIGH).reinterpretAsFloats();
            a30 = v.fma(b0, a30); a31 = v.fma(b1, a31); a32 = v.fma(b2, a32); a33 = v.fma(b3, a33);
        }
        a00.intoArray(sums, 0); a10.intoArray(sums, L); a20.intoArray(sums, 2 * L); a30.intoArray(sums, 3 * L);
        a01.intoArray(sums, 4 * L); a11.intoArray(sums, 5 * L); a21.intoArray(sums, 6 * L); a31.intoArray(sums, 7 * L);
        a02.intoArray(sums, 8 * L); a12.intoArray(sums, 9 * L); a22.intoArray(sums, 10 * L); a32.intoArray(sums, 11 * L);
        a03.intoArray(sums, 12 * L); a13.intoArray(sums, 13 * L); a23.intoArray(sums, 14 * L); a33.intoArray(sums, 15 * L);
        Vec.sums16(sums);
        store(4, sums, w, w0, in, kEnd, out, bias, r, x, t, y);
    }

    /** Two rows' weights held and widened in registers, the inputs loaded one token at a time: 13 live vectors, for AVX2's 16. */
    private static void tile24(MemorySegment w, int in, int out, float[] bias, int r, float[] x, int t, float[] y, float[] sums) {
        long w0 = (long) r * in * 2, w1 = w0 + in * 2L;
        int x0 = t * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        int kEnd = in / C * C;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        for (int k = 0; k < kEnd; k += C) {
            long kb = k * 2L;
            IntVector v0 = load(w, w0 + kb), v1 = load(w, w1 + kb);
            FloatVector e0 = even(v0), e1 = even(v1);
            FloatVector b = FloatVector.fromArray(F, x, x0 + k);
            a00 = e0.fma(b, a00); a10 = e1.fma(b, a10);
            b = FloatVector.fromArray(F, x, x1 + k);
            a01 = e0.fma(b, a01); a11 = e1.fma(b, a11);
            b = FloatVector.fromArray(F, x, x2 + k);
            a02 = e0.fma(b, a02); a12 = e1.fma(b, a12);
            b = FloatVector.fromArray(F, x, x3 + k);
            a03 = e0.fma(b, a03); a13 = e1.fma(b, a13);
            e0 = odd(v0);
            e1 = odd(v1);
            b = FloatVector.fromArray(F, x, x0 + k + L);
            a00 = e0.fma(b, a00); a10 = e1.fma(b, a10);
            b = FloatVector.fromArray(F, x, x1 + k + L);
            a01 = e0.fma(b, a01); a11 = e1.fma(b, a11);
            b = FloatVector.fromArray(F, x, x2 + k + L);
            a02 = e0.fma(b, a02); a12 = e1.fma(b, a12);
            b = FloatVector.fromArray(F, x, x3 + k + L);
            a03 = e0.fma(b, a03); a13 = e1.fma(b, a13);
        }
        a00.intoArray(sums, 0); a10.intoArray(sums, L);
        a01.intoArray(sums, 2 * L); a11.intoArray(sums, 3 * L);
        a02.intoArray(sums, 4 * L); a12.intoArray(sums, 5 * L);
        a03.intoArray(sums, 6 * L); a13.intoArray(sums, 7 * L);
        Vec.sums8(sums);
        store(2, sums, w, w0, in, kEnd, out, bias, r, x, t, y);
    }

    /** Writes a tile's {@code rows} × 4 reduced sums (token-major at {@code sums[SUMS_AT..]}) plus the tail and the bias. */
    private static void store(int rows, float[] sums, MemorySegment w, long w0, int in, int kEnd, int out, float[] bias, int r,
                              float[] x, int t, float[] y) {
        for (int j = 0; j < 4; j++) {
            for (int i = 0; i < rows; i++) {
                float s = tail(sums[Vec.SUMS_AT + rows * j + i], w, w0 + i * (in * 2L), x, (t + j) * in, kEnd, in);
                y[(t + j) * out + r + i] = bias == null ? s : s + bias[r + i];
            }
        }
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

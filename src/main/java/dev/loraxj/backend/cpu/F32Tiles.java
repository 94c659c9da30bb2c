package dev.loraxj.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The F32 register tiles of {@link Matmul}, one per {@link CpuVectors#TILE} shape. Every output is
 * computed exactly as {@link Matmul#dot}: one accumulator over k in order, the fixed reduction, the
 * scalar tail, the bias; so the tile an output lands in changes no bit. Written out per shape because
 * C2 keeps vectors in registers only as named locals, never as array elements.
 */
final class F32Tiles {

    private static final VectorSpecies<Float> F = Matmul.F;
    private static final int L = Matmul.L;
    static final int ROWS = CpuVectors.TILE.rows();
    static final int TOKENS = CpuVectors.TILE.tokens();

    private F32Tiles() {
    }

    /**
     * Rows r.. of one tile (F32 at byte {@code wOff} of w, row stride {@code in}) × tokens t.., vector loop
     * over {@code [0, kEnd)} then the scalar tail.
     */
    static void tile(MemorySegment w, long wOff, int in, int kEnd, int out, float[] bias, int r, float[] x, int t, float[] y,
                     float[] sums) {
        if (ROWS == 4) {
            tile44(w, wOff, in, kEnd, out, bias, r, x, t, y, sums);
        } else {
            tile24(w, wOff, in, kEnd, out, bias, r, x, t, y, sums);
        }
    }

    private static void tile44(MemorySegment w, long wOff, int in, int kEnd, int out, float[] bias, int r, float[] x, int t,
                               float[] y, float[] sums) {
        long w0 = wOff, w1 = w0 + in * 4L, w2 = w1 + in * 4L, w3 = w2 + in * 4L;
        int x0 = t * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        for (int k = 0; k < kEnd; k += L) {
            FloatVector b0 = FloatVector.fromArray(F, x, x0 + k);
            FloatVector b1 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector b2 = FloatVector.fromArray(F, x, x2 + k);
            FloatVector b3 = FloatVector.fromArray(F, x, x3 + k);
            long kb = k * 4L;
            FloatVector v = FloatVector.fromMemorySegment(F, w, w0 + kb, Matmul.LE);
            a00 = v.fma(b0, a00); a01 = v.fma(b1, a01); a02 = v.fma(b2, a02); a03 = v.fma(b3, a03);
            v = FloatVector.fromMemorySegment(F, w, w1 + kb, Matmul.LE);
            a10 = v.fma(b0, a10); a11 = v.fma(b1, a11); a12 = v.fma(b2, a12); a13 = v.fma(b3, a13);
            v = FloatVector.fromMemorySegment(F, w, w2 + kb, Matmul.LE);
            a20 = v.fma(b0, a20); a21 = v.fma(b1, a21); a22 = v.fma(b2, a22); a23 = v.fma(b3, a23);
            v = FloatVector.fromMemorySegment(F, w, w3 + kb, Matmul.LE);
            a30 = v.fma(b0, a30); a31 = v.fma(b1, a31); a32 = v.fma(b2, a32); a33 = v.fma(b3, a33);
        }
        // Token-major, so each token's 4 results end up next to each other.
        a00.intoArray(sums, 0); a10.intoArray(sums, L); a20.intoArray(sums, 2 * L); a30.intoArray(sums, 3 * L);
        a01.intoArray(sums, 4 * L); a11.intoArray(sums, 5 * L); a21.intoArray(sums, 6 * L); a31.intoArray(sums, 7 * L);
        a02.intoArray(sums, 8 * L); a12.intoArray(sums, 9 * L); a22.intoArray(sums, 10 * L); a32.intoArray(sums, 11 * L);
        a03.intoArray(sums, 12 * L); a13.intoArray(sums, 13 * L); a23.intoArray(sums, 14 * L); a33.intoArray(sums, 15 * L);
        Vec.sums16(sums);
        store(4, sums, w, w0, in, kEnd, out, bias, r, x, t, y);
    }

    /** Two rows held in registers, the 4 tokens' inputs loaded one at a time: 11 live vectors, for AVX2's 16. */
    private static void tile24(MemorySegment w, long wOff, int in, int kEnd, int out, float[] bias, int r, float[] x, int t,
                               float[] y, float[] sums) {
        long w0 = wOff, w1 = w0 + in * 4L;
        int x0 = t * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        for (int k = 0; k < kEnd; k += L) {
            long kb = k * 4L;
            FloatVector v0 = FloatVector.fromMemorySegment(F, w, w0 + kb, Matmul.LE);
            FloatVector v1 = FloatVector.fromMemorySegment(F, w, w1 + kb, Matmul.LE);
            FloatVector b = FloatVector.fromArray(F, x, x0 + k);
            a00 = v0.fma(b, a00); a10 = v1.fma(b, a10);
            b = FloatVector.fromArray(F, x, x1 + k);
            a01 = v0.fma(b, a01); a11 = v1.fma(b, a11);
            b = FloatVector.fromArray(F, x, x2 + k);
            a02 = v0.fma(b, a02); a12 = v1.fma(b, a12);
            b = FloatVector.fromArray(F, x, x3 + k);
            a03 = v0.fma(b, a03); a13 = v1.fma(b, a13);
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
        if (kEnd == in && bias == null) {
            for (int j = 0; j < 4; j++) {
                System.arraycopy(sums, Vec.SUMS_AT + rows * j, y, (t + j) * out + r, rows);
            }
            return;
        }
        for (int j = 0; j < 4; j++) {
            for (int i = 0; i < rows; i++) {
                float s = tail(sums[Vec.SUMS_AT + rows * j + i], w, w0 + i * (in * 4L), x, (t + j) * in, kEnd, in);
                y[(t + j) * out + r + i] = bias == null ? s : s + bias[r + i];
            }
        }
    }

    static float tail(float s, MemorySegment w, long wr, float[] x, int xr, int kEnd, int in) {
        for (int k = kEnd; k < in; k++) {
            s += w.get(Matmul.F32, wr + k * 4L) * x[xr + k];
        }
        return s;
    }
}

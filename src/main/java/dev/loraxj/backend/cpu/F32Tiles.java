package dev.loraxj.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The F32 register tiles of {@link Matmul}: 4 rows × {@link CpuVectors#TILE}'s tokens, and narrower ones for a
 * batch's last tokens. Every output is
 * computed exactly as {@link Matmul#dot}: one accumulator over k in order, the fixed reduction, the
 * scalar tail, the bias; so the tile an output lands in changes no bit. Written out per shape because
 * C2 keeps vectors in registers only as named locals, never as array elements.
 */
final class F32Tiles {

    private static final VectorSpecies<Float> F = Matmul.F;
    private static final int L = Matmul.L;
    /** Every F32 tile covers 4 rows; the machine's shape sets how many tokens a full tile takes. */
    static final int ROWS = 4;
    static final int TOKENS = CpuVectors.TILE.tokens();

    private F32Tiles() {
    }

    /**
     * Tokens of the next tile when {@code r} remain, always a width {@link #tile} has. Each tile is one more pass over
     * the block of weight rows, so the 4 x 6 family ends on balanced tiles rather than a thin one: 8 as 4 + 4 and 7 as
     * 4 + 3, not 6 + 2 and 6 + 1 (measured on the 110m shape, Zen 5: batch-8 decode 446-466 tokens/s as 4 + 4 against
     * 375-381 as 6 + 2); 5, for which there is no tile, as 3 + 2. Which tile an output lands in changes no bit.
     */
    static int width(int r) {
        if (TOKENS < 6 || r <= 4 || r == 6) {
            return Math.min(r, TOKENS);
        }
        return switch (r) {
            case 5 -> 3;
            case 7, 8 -> 4;
            default -> TOKENS;
        };
    }

    /**
     * Rows r..r+{@link #ROWS} of W (F32 at byte {@code wOff} of w, row stride {@code in}) × tokens t..t+n, for
     * n of 1, 2, 3, 4 or 6 (at most {@link #TOKENS}; {@link #width} picks it): vector loop over {@code [0, kEnd)}, then the scalar tail. The full tile runs
     * the machine's shape; the batch's last tokens run a narrower one, so no output falls back to a lone
     * dot product, whose single FMA chain waits on its own latency.
     */
    static void tile(MemorySegment w, long wOff, int in, int kEnd, int out, float[] bias, int r, float[] x, int t, int n,
                     float[] y, float[] sums) {
        switch (n) {
            case 6 -> tile46(w, wOff, in, kEnd, x, t, sums);
            case 4 -> tile44(w, wOff, in, kEnd, x, t, sums);
            case 3 -> tile43(w, wOff, in, kEnd, x, t, sums);
            case 2 -> tile42(w, wOff, in, kEnd, x, t, sums);
            case 1 -> tile41(w, wOff, in, kEnd, x, t, sums);
            default -> throw new IllegalArgumentException("no F32 tile of " + n + " tokens");
        }
        store(n, sums, w, wOff, in, kEnd, out, bias, r, x, t, y);
    }

    /**
     * Four rows × six tokens for AVX-512's 32 registers: the 4 weight vectors held, each input loaded once and fed to 4 FMAs,
     * 24 accumulators + 4 + 1 = 29 live. Against 4 × 4, 10 loads per 24 FMAs instead of 8 per 16 and the reductions packed
     * 16 + 8 (measured in cache on Zen 5, one thread: 208 against 196 GFLOP/s, FMA peak 251).
     */
    private static void tile46(MemorySegment w, long wOff, int in, int kEnd, float[] x, int t, float[] sums) {
        long w0 = wOff, w1 = w0 + in * 4L, w2 = w1 + in * 4L, w3 = w2 + in * 4L;
        int x0 = t * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in, x4 = x3 + in, x5 = x4 + in;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a04 = z, a05 = z, a10 = z, a11 = z, a12 = z, a13 = z, a14 = z, a15 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a24 = z, a25 = z, a30 = z, a31 = z, a32 = z, a33 = z, a34 = z, a35 = z;
        for (int k = 0; k < kEnd; k += L) {
            long kb = k * 4L;
            FloatVector v0 = FloatVector.fromMemorySegment(F, w, w0 + kb, Matmul.LE);
            FloatVector v1 = FloatVector.fromMemorySegment(F, w, w1 + kb, Matmul.LE);
            FloatVector v2 = FloatVector.fromMemorySegment(F, w, w2 + kb, Matmul.LE);
            FloatVector v3 = FloatVector.fromMemorySegment(F, w, w3 + kb, Matmul.LE);
            FloatVector b = FloatVector.fromArray(F, x, x0 + k);
            a00 = v0.fma(b, a00); a10 = v1.fma(b, a10); a20 = v2.fma(b, a20); a30 = v3.fma(b, a30);
            b = FloatVector.fromArray(F, x, x1 + k);
            a01 = v0.fma(b, a01); a11 = v1.fma(b, a11); a21 = v2.fma(b, a21); a31 = v3.fma(b, a31);
            b = FloatVector.fromArray(F, x, x2 + k);
            a02 = v0.fma(b, a02); a12 = v1.fma(b, a12); a22 = v2.fma(b, a22); a32 = v3.fma(b, a32);
            b = FloatVector.fromArray(F, x, x3 + k);
            a03 = v0.fma(b, a03); a13 = v1.fma(b, a13); a23 = v2.fma(b, a23); a33 = v3.fma(b, a33);
            b = FloatVector.fromArray(F, x, x4 + k);
            a04 = v0.fma(b, a04); a14 = v1.fma(b, a14); a24 = v2.fma(b, a24); a34 = v3.fma(b, a34);
            b = FloatVector.fromArray(F, x, x5 + k);
            a05 = v0.fma(b, a05); a15 = v1.fma(b, a15); a25 = v2.fma(b, a25); a35 = v3.fma(b, a35);
        }
        // Token-major: tokens 0..3 reduced 16 at a time, then tokens 4 and 5 (8 accumulators) after them.
        a00.intoArray(sums, 0); a10.intoArray(sums, L); a20.intoArray(sums, 2 * L); a30.intoArray(sums, 3 * L);
        a01.intoArray(sums, 4 * L); a11.intoArray(sums, 5 * L); a21.intoArray(sums, 6 * L); a31.intoArray(sums, 7 * L);
        a02.intoArray(sums, 8 * L); a12.intoArray(sums, 9 * L); a22.intoArray(sums, 10 * L); a32.intoArray(sums, 11 * L);
        a03.intoArray(sums, 12 * L); a13.intoArray(sums, 13 * L); a23.intoArray(sums, 14 * L); a33.intoArray(sums, 15 * L);
        Vec.sums16(sums);
        a04.intoArray(sums, 0); a14.intoArray(sums, L); a24.intoArray(sums, 2 * L); a34.intoArray(sums, 3 * L);
        a05.intoArray(sums, 4 * L); a15.intoArray(sums, 5 * L); a25.intoArray(sums, 6 * L); a35.intoArray(sums, 7 * L);
        Vec.sums8(sums, 16);
    }

    private static void tile44(MemorySegment w, long wOff, int in, int kEnd, float[] x, int t, float[] sums) {
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
    }

    /**
     * Four rows × three tokens, the three inputs held and each row's weights loaded once: 12 accumulators + 4 = AVX2's
     * 16 registers. 12 independent FMA chains cover 2 ports × 4 cycles of latency with room to spare, where 2 × 4 had
     * exactly 8 (measured in cache on Zen 3: 64 against 51 GFLOP/s a thread).
     */
    private static void tile43(MemorySegment w, long wOff, int in, int kEnd, float[] x, int t, float[] sums) {
        long w0 = wOff, w1 = w0 + in * 4L, w2 = w1 + in * 4L, w3 = w2 + in * 4L;
        int x0 = t * in, x1 = x0 + in, x2 = x1 + in;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a10 = z, a11 = z, a12 = z, a20 = z, a21 = z, a22 = z, a30 = z, a31 = z, a32 = z;
        for (int k = 0; k < kEnd; k += L) {
            FloatVector b0 = FloatVector.fromArray(F, x, x0 + k);
            FloatVector b1 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector b2 = FloatVector.fromArray(F, x, x2 + k);
            long kb = k * 4L;
            FloatVector v = FloatVector.fromMemorySegment(F, w, w0 + kb, Matmul.LE);
            a00 = v.fma(b0, a00); a01 = v.fma(b1, a01); a02 = v.fma(b2, a02);
            v = FloatVector.fromMemorySegment(F, w, w1 + kb, Matmul.LE);
            a10 = v.fma(b0, a10); a11 = v.fma(b1, a11); a12 = v.fma(b2, a12);
            v = FloatVector.fromMemorySegment(F, w, w2 + kb, Matmul.LE);
            a20 = v.fma(b0, a20); a21 = v.fma(b1, a21); a22 = v.fma(b2, a22);
            v = FloatVector.fromMemorySegment(F, w, w3 + kb, Matmul.LE);
            a30 = v.fma(b0, a30); a31 = v.fma(b1, a31); a32 = v.fma(b2, a32);
        }
        a00.intoArray(sums, 0); a10.intoArray(sums, L); a20.intoArray(sums, 2 * L); a30.intoArray(sums, 3 * L);
        a01.intoArray(sums, 4 * L); a11.intoArray(sums, 5 * L); a21.intoArray(sums, 6 * L); a31.intoArray(sums, 7 * L);
        a02.intoArray(sums, 8 * L); a12.intoArray(sums, 9 * L); a22.intoArray(sums, 10 * L); a32.intoArray(sums, 11 * L);
        Vec.sums8(sums);
        Vec.sums4(sums);
    }

    private static void tile42(MemorySegment w, long wOff, int in, int kEnd, float[] x, int t, float[] sums) {
        long w0 = wOff, w1 = w0 + in * 4L, w2 = w1 + in * 4L, w3 = w2 + in * 4L;
        int x0 = t * in, x1 = x0 + in;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        for (int k = 0; k < kEnd; k += L) {
            FloatVector b0 = FloatVector.fromArray(F, x, x0 + k);
            FloatVector b1 = FloatVector.fromArray(F, x, x1 + k);
            long kb = k * 4L;
            FloatVector v = FloatVector.fromMemorySegment(F, w, w0 + kb, Matmul.LE);
            a00 = v.fma(b0, a00); a01 = v.fma(b1, a01);
            v = FloatVector.fromMemorySegment(F, w, w1 + kb, Matmul.LE);
            a10 = v.fma(b0, a10); a11 = v.fma(b1, a11);
            v = FloatVector.fromMemorySegment(F, w, w2 + kb, Matmul.LE);
            a20 = v.fma(b0, a20); a21 = v.fma(b1, a21);
            v = FloatVector.fromMemorySegment(F, w, w3 + kb, Matmul.LE);
            a30 = v.fma(b0, a30); a31 = v.fma(b1, a31);
        }
        a00.intoArray(sums, 0); a10.intoArray(sums, L); a20.intoArray(sums, 2 * L); a30.intoArray(sums, 3 * L);
        a01.intoArray(sums, 4 * L); a11.intoArray(sums, 5 * L); a21.intoArray(sums, 6 * L); a31.intoArray(sums, 7 * L);
        Vec.sums8(sums);
    }

    private static void tile41(MemorySegment w, long wOff, int in, int kEnd, float[] x, int t, float[] sums) {
        long w0 = wOff, w1 = w0 + in * 4L, w2 = w1 + in * 4L, w3 = w2 + in * 4L;
        int x0 = t * in;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
        for (int k = 0; k < kEnd; k += L) {
            FloatVector b = FloatVector.fromArray(F, x, x0 + k);
            long kb = k * 4L;
            a0 = FloatVector.fromMemorySegment(F, w, w0 + kb, Matmul.LE).fma(b, a0);
            a1 = FloatVector.fromMemorySegment(F, w, w1 + kb, Matmul.LE).fma(b, a1);
            a2 = FloatVector.fromMemorySegment(F, w, w2 + kb, Matmul.LE).fma(b, a2);
            a3 = FloatVector.fromMemorySegment(F, w, w3 + kb, Matmul.LE).fma(b, a3);
        }
        sums[Vec.SUMS_AT] = Vec.sum(a0);
        sums[Vec.SUMS_AT + 1] = Vec.sum(a1);
        sums[Vec.SUMS_AT + 2] = Vec.sum(a2);
        sums[Vec.SUMS_AT + 3] = Vec.sum(a3);
    }

    /** Writes a tile's 4 rows × {@code n} reduced sums (token-major at {@code sums[SUMS_AT..]}) plus the tail and the bias. */
    private static void store(int n, float[] sums, MemorySegment w, long w0, int in, int kEnd, int out, float[] bias, int r,
                              float[] x, int t, float[] y) {
        if (kEnd == in && bias == null) {
            for (int j = 0; j < n; j++) {
                System.arraycopy(sums, Vec.SUMS_AT + ROWS * j, y, (t + j) * out + r, ROWS);
            }
            return;
        }
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < ROWS; i++) {
                float s = tail(sums[Vec.SUMS_AT + ROWS * j + i], w, w0 + i * (in * 4L), x, (t + j) * in, kEnd, in);
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

package dev.loraxj.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The shrink and expand of {@link LoraDelta}, for F32 and packed BF16 weights (see {@link LoraMatrix}).
 * Every output has one accumulator and one operation order (k or j ascending, FMA), whichever loop
 * (vector or scalar tail, one chain or several) computes it, so results do not depend on how work
 * was split. BF16 weights are widened exactly ({@code << 16}, {@code & 0xFFFF0000}). Each kernel reads
 * its rows front to back: on these machines that streams faster than interleaving short rows.
 */
final class LoraKernels {

    private static final VectorSpecies<Float> F = Vec.F;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int L = Vec.L;
    private static final int C = 2 * L;
    private static final IntVector HIGH = IntVector.broadcast(I, 0xFFFF0000);

    private LoraKernels() {
    }

    /** {@code s[so + j] = scale · (x[xo..xo+in) · A_j)} for every rank row j. */
    static void shrink(LoraMatrix m, float[] x, int xo, float[] s, int so) {
        switch (m) {
            case LoraMatrix.F32 f -> {
                for (int j = 0; j < f.rank(); j++) {
                    s[so + j] = f.scale() * dotF32(f.a(), j * f.in(), f.in(), x, xo);
                }
            }
            case LoraMatrix.Bf16 b -> {
                int row = LoraMatrix.Bf16.rowInts(b.in());
                for (int j = 0; j < b.rank(); j++) {
                    s[so + j] = b.scale() * dotBf16(b.a(), j * row, b.in(), x, xo);
                }
            }
        }
    }

    /** {@code y[yo + c] += Σ_j s[so + j] · Bᵀ_j[c]} for c in {@code [c0, c1)}, j in order; c0 a multiple of 2L (the BF16 packing's chunk). */
    static void expand(LoraMatrix m, float[] s, int so, float[] y, int yo, int c0, int c1) {
        switch (m) {
            case LoraMatrix.F32 f -> expandF32(f.bt(), f.rank(), f.out(), s, so, y, yo, c0, c1);
            case LoraMatrix.Bf16 b -> expandBf16(b.bt(), b.rank(), b.out(), s, so, y, yo, c0, c1);
        }
    }

    // ---- F32

    private static float dotF32(float[] a, int ao, int n, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        int end = F.loopBound(n);
        for (int k = 0; k < end; k += L) {
            acc = FloatVector.fromArray(F, a, ao + k).fma(FloatVector.fromArray(F, x, xo + k), acc);
        }
        float sum = Vec.sum(acc);
        for (int k = end; k < n; k++) {
            sum = Math.fma(a[ao + k], x[xo + k], sum);
        }
        return sum;
    }

    private static void expandF32(float[] bt, int rank, int out, float[] s, int so, float[] y, int yo, int c0, int c1) {
        int c = c0;
        for (; c + 4 * L <= c1; c += 4 * L) {
            expand4F32(bt, rank, out, s, so, y, yo, c);
        }
        for (; c + L <= c1; c += L) {
            FloatVector acc = FloatVector.fromArray(F, y, yo + c);
            for (int j = 0; j < rank; j++) {
                acc = FloatVector.fromArray(F, bt, j * out + c).fma(FloatVector.broadcast(F, s[so + j]), acc);
            }
            acc.intoArray(y, yo + c);
        }
        for (; c < c1; c++) {
            float acc = y[yo + c];
            for (int j = 0; j < rank; j++) {
                acc = Math.fma(bt[j * out + c], s[so + j], acc);
            }
            y[yo + c] = acc;
        }
    }

    /** Columns {@code [c, c+4L)}: four independent FMA chains over j. */
    private static void expand4F32(float[] bt, int rank, int out, float[] s, int so, float[] y, int yo, int c) {
        FloatVector y0 = FloatVector.fromArray(F, y, yo + c);
        FloatVector y1 = FloatVector.fromArray(F, y, yo + c + L);
        FloatVector y2 = FloatVector.fromArray(F, y, yo + c + 2 * L);
        FloatVector y3 = FloatVector.fromArray(F, y, yo + c + 3 * L);
        for (int j = 0; j < rank; j++) {
            FloatVector sj = FloatVector.broadcast(F, s[so + j]);
            int p = j * out + c;
            y0 = FloatVector.fromArray(F, bt, p).fma(sj, y0);
            y1 = FloatVector.fromArray(F, bt, p + L).fma(sj, y1);
            y2 = FloatVector.fromArray(F, bt, p + 2 * L).fma(sj, y2);
            y3 = FloatVector.fromArray(F, bt, p + 3 * L).fma(sj, y3);
        }
        y0.intoArray(y, yo + c);
        y1.intoArray(y, yo + c + L);
        y2.intoArray(y, yo + c + 2 * L);
        y3.intoArray(y, yo + c + 3 * L);
    }

    // ---- BF16, rows packed by LoraMatrix.Bf16

    private static FloatVector low(IntVector v) {
        return v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector high(IntVector v) {
        return v.and(HIGH).reinterpretAsFloats();
    }

    /** Element k of the pair in v: the even one low, the odd one high. */
    private static float pairElement(int v, int k) {
        return Float.intBitsToFloat((k & 1) == 0 ? v << 16 : v & 0xFFFF0000);
    }

    private static float dotBf16(int[] a, int ao, int n, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        int end = n / C * C;
        for (int k = 0; k < end; k += C) {
            IntVector v = IntVector.fromArray(I, a, ao + k / 2);
            acc = low(v).fma(FloatVector.fromArray(F, x, xo + k), acc);
            acc = high(v).fma(FloatVector.fromArray(F, x, xo + k + L), acc);
        }
        float sum = Vec.sum(acc);
        for (int k = end; k < n; k++) {
            sum = Math.fma(pairElement(a[ao + k / 2], k), x[xo + k], sum);
        }
        return sum;
    }

    private static void expandBf16(int[] bt, int rank, int out, float[] s, int so, float[] y, int yo, int c0, int c1) {
        int row = LoraMatrix.Bf16.rowInts(out);
        int end = Math.min(c1, out / C * C);
        int c = c0;
        for (; c < end; c += C) {
            expand2Bf16(bt, rank, row, s, so, y, yo, c);
        }
        for (; c < c1; c++) {
            float acc = y[yo + c];
            for (int j = 0; j < rank; j++) {
                acc = Math.fma(pairElement(bt[j * row + c / 2], c), s[so + j], acc);
            }
            y[yo + c] = acc;
        }
    }

    /** Columns {@code [c, c+2L)} from one int load per rank row: two independent FMA chains over j. */
    private static void expand2Bf16(int[] bt, int rank, int row, float[] s, int so, float[] y, int yo, int c) {
        FloatVector lo = FloatVector.fromArray(F, y, yo + c);
        FloatVector hi = FloatVector.fromArray(F, y, yo + c + L);
        for (int j = 0; j < rank; j++) {
            FloatVector sj = FloatVector.broadcast(F, s[so + j]);
            IntVector v = IntVector.fromArray(I, bt, j * row + c / 2);
            lo = low(v).fma(sj, lo);
            hi = high(v).fma(sj, hi);
        }
        lo.intoArray(y, yo + c);
        hi.intoArray(y, yo + c + L);
    }
}

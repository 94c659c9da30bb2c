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
 * is in {@link Matmul#layout} order. Every tile shape follows this sequence per output.
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

    /** Rows r, r+1 × tokens t..t+3: 8 accumulators, the 8 input vectors stay in registers for both rows. */
    static void tile24(MemorySegment w, int in, int out, float[] bias, int r, float[] x, int t, float[] y, float[] sums) {
        long w0 = (long) r * in * 2, w1 = w0 + in * 2L;
        int x0 = t * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        int kEnd = in / C * C;
        for (int k = 0; k < kEnd; k += C) {
            FloatVector e0 = FloatVector.fromArray(F, x, x0 + k), o0 = FloatVector.fromArray(F, x, x0 + k + L);
            FloatVector e1 = FloatVector.fromArray(F, x, x1 + k), o1 = FloatVector.fromArray(F, x, x1 + k + L);
            FloatVector e2 = FloatVector.fromArray(F, x, x2 + k), o2 = FloatVector.fromArray(F, x, x2 + k + L);
            FloatVector e3 = FloatVector.fromArray(F, x, x3 + k), o3 = FloatVector.fromArray(F, x, x3 + k + L);
            long kb = k * 2L;
            IntVector v = load(w, w0 + kb);
            FloatVector ev = even(v), ov = odd(v);
            a00 = ov.fma(o0, ev.fma(e0, a00));
            a01 = ov.fma(o1, ev.fma(e1, a01));
            a02 = ov.fma(o2, ev.fma(e2, a02));
            a03 = ov.fma(o3, ev.fma(e3, a03));
            v = load(w, w1 + kb);
            ev = even(v);
            ov = odd(v);
            a10 = ov.fma(o0, ev.fma(e0, a10));
            a11 = ov.fma(o1, ev.fma(e1, a11));
            a12 = ov.fma(o2, ev.fma(e2, a12));
            a13 = ov.fma(o3, ev.fma(e3, a13));
        }
        // Token-major, so each token's 2 results end up next to each other.
        a00.intoArray(sums, 0); a10.intoArray(sums, L); a01.intoArray(sums, 2 * L); a11.intoArray(sums, 3 * L);
        a02.intoArray(sums, 4 * L); a12.intoArray(sums, 5 * L); a03.intoArray(sums, 6 * L); a13.intoArray(sums, 7 * L);
        Vec.sums8(sums);
        if (kEnd == in && bias == null) {
            for (int j = 0; j < 4; j++) {
                System.arraycopy(sums, Vec.SUMS_AT + 2 * j, y, (t + j) * out + r, 2);
            }
            return;
        }
        for (int j = 0; j < 4; j++) {
            for (int i = 0; i < 2; i++) {
                float s = tail(sums[Vec.SUMS_AT + 2 * j + i], w, w0 + i * (in * 2L), x, (t + j) * in, kEnd, in);
                y[(t + j) * out + r + i] = bias == null ? s : s + bias[r + i];
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

package dev.loraxj.backend.cpu;

import dev.loraxj.model.DType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The int8 kernels of {@link Matmul}, and the quantizer. A weight is {@code q * d}: q an int8,
 * d the float scale of its row's group of {@link DType#I8_GROUP} inputs. Each kernel dequantizes to
 * float inside the loop ({@code (float) q * d}, one exact product rounded once) and then runs the
 * F32 kernel's FMA chain in the F32 order, so a row gives the same bits in a decode step and in a
 * batched tile (which widens a block of rows this way and reuses the F32 tile). Hand-written for
 * the same reason as Matmul: nothing on the JVM reads these layouts, in a fixed order.
 */
final class I8Tiles {

    private static final VectorSpecies<Float> F = Matmul.F;
    private static final int L = Matmul.L;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * Byte.SIZE));
    private static final int GROUP = DType.I8_GROUP;

    private I8Tiles() {
    }

    /** L weights from byte {@code off} (a whole vector lies in one group, since GROUP is a multiple of L), dequantized. */
    private static FloatVector load(MemorySegment w, long off, float d) {
        return ((FloatVector) ByteVector.fromMemorySegment(B, w, off, Matmul.LE).convertShape(VectorOperators.B2F, F, 0)).mul(d);
    }

    private static float weight(MemorySegment w, long off, float d) {
        return w.get(ValueLayout.JAVA_BYTE, off) * d;
    }

    static float dot(MemorySegment w, float[] scales, int in, float[] bias, int r, float[] x, int t) {
        long wr = (long) r * in;
        int sr = r * Linear.groups(in);
        int xr = t * in;
        FloatVector a = FloatVector.zero(F);
        int kEnd = F.loopBound(in);
        for (int k = 0; k < kEnd; k += L) {
            a = load(w, wr + k, scales[sr + k / GROUP]).fma(FloatVector.fromArray(F, x, xr + k), a);
        }
        return finish(a, w, scales, sr, wr, x, xr, kEnd, in, bias, r);
    }

    /** {@code y[ra]} and {@code y[rb]} for one token, each exactly as {@link #dot} computes it. */
    static void dot2(MemorySegment w, float[] scales, int in, float[] bias, int ra, int rb, float[] x, float[] y) {
        long wa = (long) ra * in, wb = (long) rb * in;
        int groups = Linear.groups(in);
        int sa = ra * groups, sb = rb * groups;
        FloatVector a = FloatVector.zero(F), b = a;
        int kEnd = F.loopBound(in);
        for (int k = 0; k < kEnd; k += L) {
            FloatVector xv = FloatVector.fromArray(F, x, k);
            int g = k / GROUP;
            a = load(w, wa + k, scales[sa + g]).fma(xv, a);
            b = load(w, wb + k, scales[sb + g]).fma(xv, b);
        }
        y[ra] = finish(a, w, scales, sa, wa, x, 0, kEnd, in, bias, ra);
        y[rb] = finish(b, w, scales, sb, wb, x, 0, kEnd, in, bias, rb);
    }

    /** Rows {@code r..r+n} dequantized to F32 rows of {@code in} floats at {@code dst}, for the F32 tile. */
    static void widen(MemorySegment w, float[] scales, int in, int r, int n, MemorySegment dst) {
        int groups = Linear.groups(in);
        int kEnd = F.loopBound(in);
        for (int i = 0; i < n; i++) {
            long wr = (long) (r + i) * in;
            int sr = (r + i) * groups;
            long dr = (long) i * in * 4;
            for (int k = 0; k < kEnd; k += L) {
                load(w, wr + k, scales[sr + k / GROUP]).intoMemorySegment(dst, dr + k * 4L, Matmul.LE);
            }
            for (int k = kEnd; k < in; k++) {
                dst.set(Matmul.F32, dr + k * 4L, weight(w, wr + k, scales[sr + k / GROUP]));
            }
        }
    }

    private static float finish(FloatVector acc, MemorySegment w, float[] scales, int sr, long wr, float[] x, int xr, int kEnd, int in,
                                float[] bias, int r) {
        float s = Vec.sum(acc);
        for (int k = kEnd; k < in; k++) {
            s += weight(w, wr + k, scales[sr + k / GROUP]) * x[xr + k];
        }
        return bias == null ? s : s + bias[r];
    }

    /**
     * Quantizes an F32 or BF16 matrix as llama.cpp's Q8_0 does: per row and group of 32 inputs,
     * {@code d = max|w| / 127} and {@code q = round(w / d)} (half away from zero), into {@code arena}.
     */
    static Linear quantize(Linear src, Arena arena) {
        int rows = src.rows();
        int cols = src.cols();
        int groups = Linear.groups(cols);
        MemorySegment q = arena.allocate((long) rows * cols, 64);
        float[] scales = new float[rows * groups];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            read(src, r, row);
            for (int g = 0; g < groups; g++) {
                int from = g * GROUP;
                int to = Math.min(cols, from + GROUP);
                float max = 0;
                for (int k = from; k < to; k++) {
                    max = Math.max(max, Math.abs(row[k]));
                }
                float d = max / 127f;
                float id = d != 0 ? 1f / d : 0f;
                scales[r * groups + g] = d;
                for (int k = from; k < to; k++) {
                    q.set(ValueLayout.JAVA_BYTE, (long) r * cols + k, (byte) roundHalfAway(row[k] * id));
                }
            }
        }
        return new Linear(src.module(), src.layer(), q, DType.I8, rows, cols, src.bias(), scales);
    }

    /** C's roundf: halves go away from zero. */
    static int roundHalfAway(float v) {
        return (int) (v >= 0 ? Math.floor(v + 0.5f) : -Math.floor(-v + 0.5f));
    }

    static void read(Linear src, int r, float[] row) {
        long base = (long) r * src.cols();
        for (int k = 0; k < row.length; k++) {
            row[k] = src.dtype() == DType.BF16
                    ? DType.bf16ToFloat(src.data().get(Matmul.I16, (base + k) * 2))
                    : src.data().get(Matmul.F32, (base + k) * 4);
        }
    }
}

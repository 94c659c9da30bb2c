package dev.loraxj.backend.cpu;

import dev.loraxj.model.DType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The uint4 kernels of {@link Matmul}: GPTQ's and AWQ's weights, {@code (q - z) * s} with q an unsigned nibble and z and s
 * the zero point and float scale of its row's group of {@link ZeroPoints#groupSize} inputs. The nibbles are in
 * {@link I4Tiles}'s order (16-byte blocks of 32 inputs), so one load, shift and mask give L consecutive inputs.
 *
 * <p>{@code q - z} has at most 5 significant bits and s is a widened fp16 (11), so {@code (float) (q - z) * s} is exact: a weight
 * is the very float a dequantized F32 checkpoint holds. Each kernel walks the groups in order with their scale and zero point
 * hoisted out of the inner loop (no division per vector), and the FMA chain is the F32 kernel's (one accumulator, k ascending,
 * {@link Vec#sum}, the scalar tail, the bias), so a row gives bitwise the F32 result over the dequantized matrix, in a decode
 * step and in a batched tile alike (which widens a block of rows this way and reuses the F32 tile). With 16 float lanes, whole
 * 32-input blocks look their weights up in a per-group table, as {@link I4Tiles} does, with the same bits.
 */
final class U4Tiles {

    private static final VectorSpecies<Float> F = Matmul.F;
    private static final int L = Matmul.L;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * Byte.SIZE));
    /** Inputs per 16-byte block of nibbles. */
    private static final int BLOCK = DType.I4_GROUP;

    private U4Tiles() {
    }

    /** L inputs from {@code k} (a multiple of L, within one group) of the row at byte {@code wr}, dequantized. */
    private static FloatVector load(MemorySegment w, long wr, int k, byte z, float s) {
        ByteVector q = ByteVector.fromMemorySegment(B, w, I4Tiles.at(wr, k), Matmul.LE)
                .lanewise(VectorOperators.LSHR, I4Tiles.shift(k)).and((byte) 0x0F);
        return ((FloatVector) q.sub(z).convertShape(VectorOperators.B2F, F, 0)).mul(s);
    }

    /** The stored nibble of input {@code k} of the row at byte {@code wr}. */
    static int nibble(MemorySegment w, long wr, int k) {
        return (w.get(ValueLayout.JAVA_BYTE, I4Tiles.at(wr, k)) >> I4Tiles.shift(k)) & 0x0F;
    }

    private static float weight(MemorySegment w, long wr, int k, byte z, float s) {
        return (float) (nibble(w, wr, k) - z) * s;
    }

    /** Row {@code r} of W · token {@code t} of x (x in stored input order), plus bias. */
    static float dot(Linear m, int r, float[] x, int t) {
        MemorySegment w = m.data();
        float[] scales = m.scales();
        byte[] zeros = m.zeros().values();
        int in = m.cols();
        int gs = m.zeros().groupSize();
        long wr = r * I4Tiles.rowBytes(in);
        int sr = r * (in / gs);
        int xr = t * in;
        FloatVector a = FloatVector.zero(F);
        int kEnd = F.loopBound(in);
        for (int g = sr, k = 0; k < kEnd; g++) {
            int gEnd = Math.min(kEnd, k + gs);
            byte z = zeros[g];
            float s = scales[g];
            if (I4Tiles.LOOKUP) {
                IntVector lv = I4Tiles.levels(z, s);
                for (; k + BLOCK <= gEnd; k += BLOCK) {
                    IntVector q = I4Tiles.nibbles(w, wr, k / BLOCK);
                    a = I4Tiles.lookup(lv, q, false).fma(FloatVector.fromArray(F, x, xr + k), a);
                    a = I4Tiles.lookup(lv, q, true).fma(FloatVector.fromArray(F, x, xr + k + BLOCK / 2), a);
                }
            }
            for (; k < gEnd; k += L) {
                a = load(w, wr, k, z, s).fma(FloatVector.fromArray(F, x, xr + k), a);
            }
        }
        return finish(a, m, wr, sr, x, xr, kEnd, r);
    }

    /** {@code y[ra]} and {@code y[rb]} for one token, each exactly as {@link #dot} computes it. */
    static void dot2(Linear m, int ra, int rb, float[] x, float[] y) {
        MemorySegment w = m.data();
        float[] scales = m.scales();
        byte[] zeros = m.zeros().values();
        int in = m.cols();
        int gs = m.zeros().groupSize();
        long wa = ra * I4Tiles.rowBytes(in), wb = rb * I4Tiles.rowBytes(in);
        int sa = ra * (in / gs), sb = rb * (in / gs);
        FloatVector a = FloatVector.zero(F), b = a;
        int kEnd = F.loopBound(in);
        for (int g = 0, k = 0; k < kEnd; g++) {
            int gEnd = Math.min(kEnd, k + gs);
            byte za = zeros[sa + g], zb = zeros[sb + g];
            float ca = scales[sa + g], cb = scales[sb + g];
            if (I4Tiles.LOOKUP) {
                IntVector la = I4Tiles.levels(za, ca), lb = I4Tiles.levels(zb, cb);
                for (; k + BLOCK <= gEnd; k += BLOCK) {
                    IntVector qa = I4Tiles.nibbles(w, wa, k / BLOCK), qb = I4Tiles.nibbles(w, wb, k / BLOCK);
                    FloatVector x0 = FloatVector.fromArray(F, x, k), x1 = FloatVector.fromArray(F, x, k + BLOCK / 2);
                    a = I4Tiles.lookup(la, qa, false).fma(x0, a);
                    b = I4Tiles.lookup(lb, qb, false).fma(x0, b);
                    a = I4Tiles.lookup(la, qa, true).fma(x1, a);
                    b = I4Tiles.lookup(lb, qb, true).fma(x1, b);
                }
            }
            for (; k < gEnd; k += L) {
                FloatVector xv = FloatVector.fromArray(F, x, k);
                a = load(w, wa, k, za, ca).fma(xv, a);
                b = load(w, wb, k, zb, cb).fma(xv, b);
            }
        }
        y[ra] = finish(a, m, wa, sa, x, 0, kEnd, ra);
        y[rb] = finish(b, m, wb, sb, x, 0, kEnd, rb);
    }

    /** Rows {@code r..r+n} dequantized to F32 rows of {@code in} floats at {@code dst}, for the F32 tile. */
    static void widen(Linear m, int r, int n, MemorySegment dst) {
        MemorySegment w = m.data();
        float[] scales = m.scales();
        byte[] zeros = m.zeros().values();
        int in = m.cols();
        int gs = m.zeros().groupSize();
        int kEnd = F.loopBound(in);
        for (int i = 0; i < n; i++) {
            long wr = (r + i) * I4Tiles.rowBytes(in);
            int sr = (r + i) * (in / gs);
            long dr = (long) i * in * 4;
            for (int g = sr, k = 0; k < kEnd; g++) {
                int gEnd = Math.min(kEnd, k + gs);
                byte z = zeros[g];
                float s = scales[g];
                if (I4Tiles.LOOKUP) {
                    IntVector lv = I4Tiles.levels(z, s);
                    for (; k + BLOCK <= gEnd; k += BLOCK) {
                        IntVector q = I4Tiles.nibbles(w, wr, k / BLOCK);
                        I4Tiles.lookup(lv, q, false).intoMemorySegment(dst, dr + k * 4L, Matmul.LE);
                        I4Tiles.lookup(lv, q, true).intoMemorySegment(dst, dr + (k + BLOCK / 2) * 4L, Matmul.LE);
                    }
                }
                for (; k < gEnd; k += L) {
                    load(w, wr, k, z, s).intoMemorySegment(dst, dr + k * 4L, Matmul.LE);
                }
            }
            for (int k = kEnd; k < in; k++) {
                dst.set(Matmul.F32, dr + k * 4L, weight(w, wr, k, zeros[sr + k / gs], scales[sr + k / gs]));
            }
        }
    }

    private static float finish(FloatVector acc, Linear m, long wr, int sr, float[] x, int xr, int kEnd, int r) {
        float s = Vec.sum(acc);
        int gs = m.zeros().groupSize();
        for (int k = kEnd; k < m.cols(); k++) {
            s += weight(m.data(), wr, k, m.zeros().values()[sr + k / gs], m.scales()[sr + k / gs]) * x[xr + k];
        }
        return m.bias() == null ? s : s + m.bias()[r];
    }

    /** {@code out[t, p] = x[t, order[p]]}: the input in the order the rows store it. */
    static void gather(int[] order, float[] x, int T, int in, float[] out) {
        for (int t = 0; t < T; t++) {
            int o = t * in;
            for (int p = 0; p < in; p++) {
                out[o + p] = x[o + order[p]];
            }
        }
    }
}

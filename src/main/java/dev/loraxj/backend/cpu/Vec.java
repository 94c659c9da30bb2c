package dev.loraxj.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * Small vector helpers with a fixed operation order. {@code reduceLanes(ADD)} is avoided on purpose:
 * its order may differ between the interpreter's Java fallback and C2's intrinsic, which would make a
 * result depend on whether the kernel happened to be compiled yet.
 */
public final class Vec {

    static final VectorSpecies<Float> F = CpuVectors.F;
    static final int L = F.length();
    private static final VectorShuffle<Float> R8 = VectorShuffle.iota(F, 8, 1, true);
    private static final VectorShuffle<Float> R4 = VectorShuffle.iota(F, 4, 1, true);
    private static final VectorShuffle<Float> R2 = VectorShuffle.iota(F, 2, 1, true);
    private static final VectorShuffle<Float> R1 = VectorShuffle.iota(F, 1, 1, true);

    // Lane i ^ h, and the lanes whose bit h is set: for reducing many accumulators at once.
    private static final VectorShuffle<Float> X8 = VectorShuffle.fromOp(F, i -> (i ^ 8) & (L - 1));
    private static final VectorShuffle<Float> X4 = VectorShuffle.fromOp(F, i -> (i ^ 4) & (L - 1));
    private static final VectorShuffle<Float> X2 = VectorShuffle.fromOp(F, i -> (i ^ 2) & (L - 1));
    private static final VectorShuffle<Float> X1 = VectorShuffle.fromOp(F, i -> (i ^ 1) & (L - 1));
    private static final VectorMask<Float> M8 = VectorMask.fromLong(F, 0xFF00FF00FF00FF00L);
    private static final VectorMask<Float> M4 = VectorMask.fromLong(F, 0xF0F0F0F0F0F0F0F0L);
    private static final VectorMask<Float> M2 = VectorMask.fromLong(F, 0xCCCCCCCCCCCCCCCCL);
    private static final VectorMask<Float> M1 = VectorMask.fromLong(F, 0xAAAAAAAAAAAAAAAAL);

    private Vec() {
    }

    /** Where {@link #sums16} and {@link #sums8} read accumulators and write sums in their buffer. */
    static final int SUMS_AT = 16 * L;

    /**
     * {@code buf[SUMS_AT + i] = sum(accumulator i)} for the 16 accumulators stored at {@code buf[16 i ..]},
     * bit for bit, packing the 16 reductions into 15 vector steps. Each step, for vectors c and d and
     * bit h, gives lanes whose bit h is clear {@code c[i] + c[i^h]} and the others {@code d[i] + d[i^h]}:
     * every lane sees the same operand pair as in {@link #sum} (addition commutes exactly), so packing
     * changes no bit. The accumulators travel through memory because C2 boxes vectors passed to a
     * method it did not inline, and the tiles are too big for it to inline more.
     */
    static void sums16(float[] buf) {
        if (L != 16) {
            sumEach(buf, 16, 0);
            return;
        }
        // Written out in full: this keeps the method too big for C2 to inline into a tile, which would exhaust its node budget.
        FloatVector a0 = FloatVector.fromArray(F, buf, 0 * L);
        FloatVector a1 = FloatVector.fromArray(F, buf, 1 * L);
        FloatVector a2 = FloatVector.fromArray(F, buf, 2 * L);
        FloatVector a3 = FloatVector.fromArray(F, buf, 3 * L);
        FloatVector a4 = FloatVector.fromArray(F, buf, 4 * L);
        FloatVector a5 = FloatVector.fromArray(F, buf, 5 * L);
        FloatVector a6 = FloatVector.fromArray(F, buf, 6 * L);
        FloatVector a7 = FloatVector.fromArray(F, buf, 7 * L);
        FloatVector a8 = FloatVector.fromArray(F, buf, 8 * L);
        FloatVector a9 = FloatVector.fromArray(F, buf, 9 * L);
        FloatVector a10 = FloatVector.fromArray(F, buf, 10 * L);
        FloatVector a11 = FloatVector.fromArray(F, buf, 11 * L);
        FloatVector a12 = FloatVector.fromArray(F, buf, 12 * L);
        FloatVector a13 = FloatVector.fromArray(F, buf, 13 * L);
        FloatVector a14 = FloatVector.fromArray(F, buf, 14 * L);
        FloatVector a15 = FloatVector.fromArray(F, buf, 15 * L);
        FloatVector c0 = a0.blend(a8, M8).add(a8.blend(a0, M8).rearrange(X8));
        FloatVector c1 = a1.blend(a9, M8).add(a9.blend(a1, M8).rearrange(X8));
        FloatVector c2 = a2.blend(a10, M8).add(a10.blend(a2, M8).rearrange(X8));
        FloatVector c3 = a3.blend(a11, M8).add(a11.blend(a3, M8).rearrange(X8));
        FloatVector c4 = a4.blend(a12, M8).add(a12.blend(a4, M8).rearrange(X8));
        FloatVector c5 = a5.blend(a13, M8).add(a13.blend(a5, M8).rearrange(X8));
        FloatVector c6 = a6.blend(a14, M8).add(a14.blend(a6, M8).rearrange(X8));
        FloatVector c7 = a7.blend(a15, M8).add(a15.blend(a7, M8).rearrange(X8));
        FloatVector d0 = c0.blend(c4, M4).add(c4.blend(c0, M4).rearrange(X4));
        FloatVector d1 = c1.blend(c5, M4).add(c5.blend(c1, M4).rearrange(X4));
        FloatVector d2 = c2.blend(c6, M4).add(c6.blend(c2, M4).rearrange(X4));
        FloatVector d3 = c3.blend(c7, M4).add(c7.blend(c3, M4).rearrange(X4));
        FloatVector e0 = d0.blend(d2, M2).add(d2.blend(d0, M2).rearrange(X2));
        FloatVector e1 = d1.blend(d3, M2).add(d3.blend(d1, M2).rearrange(X2));
        e0.blend(e1, M1).add(e1.blend(e0, M1).rearrange(X1)).intoArray(buf, SUMS_AT);
    }

    /** As {@link #sums16} for 8 accumulators at {@code buf[L i ..]}. */
    static void sums8(float[] buf) {
        sums8(buf, 0);
    }

    /** As {@link #sums8}, the sums written from {@code buf[SUMS_AT + at]} (room for L floats from there). */
    static void sums8(float[] buf, int at) {
        if (L == 8) {
            sums8of8(buf, at);
            return;
        }
        if (L != 16) {
            sumEach(buf, 8, at);
            return;
        }
        FloatVector a0 = FloatVector.fromArray(F, buf, 0 * L);
        FloatVector a1 = FloatVector.fromArray(F, buf, 1 * L);
        FloatVector a2 = FloatVector.fromArray(F, buf, 2 * L);
        FloatVector a3 = FloatVector.fromArray(F, buf, 3 * L);
        FloatVector a4 = FloatVector.fromArray(F, buf, 4 * L);
        FloatVector a5 = FloatVector.fromArray(F, buf, 5 * L);
        FloatVector a6 = FloatVector.fromArray(F, buf, 6 * L);
        FloatVector a7 = FloatVector.fromArray(F, buf, 7 * L);
        FloatVector c0 = a0.blend(a4, M8).add(a4.blend(a0, M8).rearrange(X8));
        FloatVector c1 = a1.blend(a5, M8).add(a5.blend(a1, M8).rearrange(X8));
        FloatVector c2 = a2.blend(a6, M8).add(a6.blend(a2, M8).rearrange(X8));
        FloatVector c3 = a3.blend(a7, M8).add(a7.blend(a3, M8).rearrange(X8));
        FloatVector d0 = c0.blend(c2, M4).add(c2.blend(c0, M4).rearrange(X4));
        FloatVector d1 = c1.blend(c3, M4).add(c3.blend(c1, M4).rearrange(X4));
        FloatVector e = d0.blend(d1, M2).add(d1.blend(d0, M2).rearrange(X2));
        e.add(e.rearrange(X1)).intoArray(buf, SUMS_AT + at);
        for (int i = 1; i < 8; i++) {
            buf[SUMS_AT + at + i] = buf[SUMS_AT + at + 2 * i];
        }
    }

    /** {@link #sums8} with 8 lanes: the 8 reductions in 7 vector steps, as {@link #sums16} packs them. */
    private static void sums8of8(float[] buf, int at) {
        FloatVector a0 = FloatVector.fromArray(F, buf, 0);
        FloatVector a1 = FloatVector.fromArray(F, buf, L);
        FloatVector a2 = FloatVector.fromArray(F, buf, 2 * L);
        FloatVector a3 = FloatVector.fromArray(F, buf, 3 * L);
        FloatVector a4 = FloatVector.fromArray(F, buf, 4 * L);
        FloatVector a5 = FloatVector.fromArray(F, buf, 5 * L);
        FloatVector a6 = FloatVector.fromArray(F, buf, 6 * L);
        FloatVector a7 = FloatVector.fromArray(F, buf, 7 * L);
        FloatVector c0 = a0.blend(a4, M4).add(a4.blend(a0, M4).rearrange(X4));
        FloatVector c1 = a1.blend(a5, M4).add(a5.blend(a1, M4).rearrange(X4));
        FloatVector c2 = a2.blend(a6, M4).add(a6.blend(a2, M4).rearrange(X4));
        FloatVector c3 = a3.blend(a7, M4).add(a7.blend(a3, M4).rearrange(X4));
        FloatVector d0 = c0.blend(c2, M2).add(c2.blend(c0, M2).rearrange(X2));
        FloatVector d1 = c1.blend(c3, M2).add(c3.blend(c1, M2).rearrange(X2));
        d0.blend(d1, M1).add(d1.blend(d0, M1).rearrange(X1)).intoArray(buf, SUMS_AT + at);
    }

    /**
     * {@code buf[SUMS_AT + 8 + i] = sum(accumulator 8 + i)} for the 4 accumulators stored at {@code buf[L (8 + i) ..]}:
     * the last third of a 4 × 3 tile, packed in 4 vector steps with 8 lanes.
     */
    static void sums4(float[] buf) {
        if (L != 8) {
            for (int i = 8; i < 12; i++) {
                buf[SUMS_AT + i] = sum(FloatVector.fromArray(F, buf, i * L));
            }
            return;
        }
        FloatVector a0 = FloatVector.fromArray(F, buf, 8 * L);
        FloatVector a1 = FloatVector.fromArray(F, buf, 9 * L);
        FloatVector a2 = FloatVector.fromArray(F, buf, 10 * L);
        FloatVector a3 = FloatVector.fromArray(F, buf, 11 * L);
        FloatVector c0 = a0.blend(a1, M4).add(a1.blend(a0, M4).rearrange(X4));
        FloatVector c1 = a2.blend(a3, M4).add(a3.blend(a2, M4).rearrange(X4));
        FloatVector d = c0.blend(c1, M2).add(c1.blend(c0, M2).rearrange(X2));
        d.add(d.rearrange(X1)).intoArray(buf, SUMS_AT + 8); // lane 0: a0, 2: a2, 4: a1, 6: a3
        float s1 = buf[SUMS_AT + 12], s2 = buf[SUMS_AT + 10], s3 = buf[SUMS_AT + 14];
        buf[SUMS_AT + 9] = s1;
        buf[SUMS_AT + 10] = s2;
        buf[SUMS_AT + 11] = s3;
    }

    /** Sum of the lanes by a fixed tree: lane i plus lane i+L/2, then i+L/4, ... (all lanewise adds). */
    public static float sum(FloatVector v) {
        switch (L) {
            case 16 -> {
                v = v.add(v.rearrange(R8));
                v = v.add(v.rearrange(R4));
                v = v.add(v.rearrange(R2));
                v = v.add(v.rearrange(R1));
                return v.lane(0);
            }
            case 8 -> {
                v = v.add(v.rearrange(R4));
                v = v.add(v.rearrange(R2));
                v = v.add(v.rearrange(R1));
                return v.lane(0);
            }
            case 4 -> {
                v = v.add(v.rearrange(R2));
                v = v.add(v.rearrange(R1));
                return v.lane(0);
            }
            default -> {
                float[] lanes = v.toArray();
                for (int h = L / 2; h >= 1; h /= 2) {
                    for (int i = 0; i < h; i++) {
                        lanes[i] += lanes[i + h];
                    }
                }
                return lanes[0];
            }
        }
    }

    /** The fallback of {@link #sums16} for other vector widths. */
    private static void sumEach(float[] buf, int n, int at) {
        for (int i = 0; i < n; i++) {
            buf[SUMS_AT + at + i] = sum(FloatVector.fromArray(F, buf, i * L));
        }
    }

    /** {@code a[ao..ao+n) · b[bo..bo+n)}: vector accumulator, {@link #sum}, then the scalar tail. */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(F);
        int end = F.loopBound(n);
        for (int i = 0; i < end; i += L) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
        }
        float s = end == 0 ? 0f : sum(acc);
        for (int i = end; i < n; i++) {
            s += a[ao + i] * b[bo + i];
        }
        return s;
    }

    /** {@code a[ao..ao+n) · seg[byteOff..]} with the seg holding little-endian floats; same order as {@link #dot}. */
    public static float dot(float[] a, int ao, MemorySegment seg, long byteOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int end = F.loopBound(n);
        for (int i = 0; i < end; i += L) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromMemorySegment(F, seg, byteOff + i * 4L, Matmul.LE), acc);
        }
        float s = end == 0 ? 0f : sum(acc);
        for (int i = end; i < n; i++) {
            s += a[ao + i] * seg.get(Matmul.F32, byteOff + i * 4L);
        }
        return s;
    }

    /** {@code y[yo..yo+n) += x[xo..xo+n)}. */
    public static void add(float[] y, int yo, float[] x, int xo, int n) {
        int end = F.loopBound(n);
        int i = 0;
        for (; i < end; i += L) {
            FloatVector.fromArray(F, y, yo + i).add(FloatVector.fromArray(F, x, xo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] += x[xo + i];
        }
    }
}

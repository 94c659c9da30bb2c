package dev.loraxj.backend.cpu;

import dev.loraxj.model.DType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The int4 kernels of {@link Matmul}, and the quantizer: llama.cpp's Q4_0. A weight is {@code (q - 8) * d}: q a 4-bit
 * unsigned nibble, d the float scale of its row's group of {@link DType#I4_GROUP} inputs.
 *
 * <p>Layout, as Q4_0's {@code qs}: a row is {@link Linear#groups} blocks of 16 bytes; byte j of block g holds input
 * {@code 32g + j} in its low nibble and input {@code 32g + 16 + j} in its high nibble. Inputs past the row's end in its
 * last block are q = 8 (weight 0), so rows are padded to whole blocks and any width works. This order lets one load of L
 * bytes and one shift and mask give L consecutive inputs, with no shuffles.
 *
 * <p>As in {@link I8Tiles}, each kernel dequantizes to float inside the loop ({@code (float) (q - 8) * d}, one exact
 * product rounded once) and then runs the F32 kernel's FMA chain in the F32 order (k ascending), so a row gives the same
 * bits in a decode step and in a batched tile, which widens a block of rows this way and reuses the F32 tile.
 *
 * <p>With 16 float lanes a group's 16 possible weights fit one vector, so the kernels look them up instead: per row and
 * group one multiply gives the table {@code (q - 8) * d} for q = 0..15, and each 16 inputs are one permute of it by their
 * nibbles (widened to int lanes once per group), in place of a byte-to-float conversion and a multiply. The table holds
 * the very floats the conversion gives, so the bits are the same (measured on the 110m gate shape on Zen 5, one thread:
 * 25.6 against 11.7 G weights/s). Narrower vectors cannot hold the table and convert.
 */
final class I4Tiles {

    private static final VectorSpecies<Float> F = Matmul.F;
    private static final int L = Matmul.L;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * Byte.SIZE));
    private static final int GROUP = DType.I4_GROUP;
    private static final int HALF = GROUP / 2;

    static {
        if (HALF % L != 0) {
            // a vector must lie in one half-block, where its inputs are one nibble of consecutive bytes
            throw new ExceptionInInitializerError("int4 kernels need at most " + HALF + " float lanes, this CPU has " + L);
        }
    }

    private I4Tiles() {
    }

    /** Bytes of one int4 row of {@code cols} inputs: 16 per group of 32, the last group padded. */
    static long rowBytes(int cols) {
        return (long) Linear.groups(cols) * HALF;
    }

    /** Byte of the row at {@code wr} that holds input {@code k} (the uint4 kernels share this order). */
    static long at(long wr, int k) {
        return wr + (long) (k / GROUP) * HALF + (k % HALF);
    }

    /** Nibble shift of input {@code k} within its byte: 0 for the first half of its group, 4 for the second. */
    static int shift(int k) {
        return k % GROUP < HALF ? 0 : 4;
    }

    /** L inputs from {@code k} (a multiple of L, so they are one nibble of L consecutive bytes) of the row at byte {@code wr}, dequantized. */
    private static FloatVector load(MemorySegment w, long wr, int k, float d) {
        ByteVector q = ByteVector.fromMemorySegment(B, w, at(wr, k), Matmul.LE).lanewise(VectorOperators.LSHR, shift(k)).and((byte) 0x0F);
        return ((FloatVector) q.sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d);
    }

    /** A whole group's 16 bytes: the low nibbles are its first 16 inputs, the high ones the other 16. */
    private static final VectorSpecies<Byte> G = ByteVector.SPECIES_128;
    /** Float vectors per half-group (16 inputs). */
    private static final int PARTS = HALF / L;

    /** The q - 8 of inputs {@code 32g..32g+15} (hi false) or {@code 32g+16..32g+31} (hi true) of the row at byte {@code wr}. */
    private static ByteVector half(MemorySegment w, long wr, int g, boolean hi) {
        ByteVector q = ByteVector.fromMemorySegment(G, w, wr + (long) g * HALF, Matmul.LE);
        return (hi ? q.lanewise(VectorOperators.LSHR, 4) : q).and((byte) 0x0F).sub((byte) 8);
    }

    /** Float vector {@code part} of a half-group's q - 8, times d: exactly what {@link #load} gives for those L inputs. */
    private static FloatVector part(ByteVector q8, int part, float d) {
        return ((FloatVector) q8.convertShape(VectorOperators.B2F, F, part)).mul(d);
    }

    /** Whether the kernels look weights up in a per-group table (16 float lanes) rather than convert them. */
    static final boolean LOOKUP = L == HALF;
    private static final VectorSpecies<Integer> IL = VectorSpecies.of(int.class, F.vectorShape());
    /** q for q = 0..15 (only read with 16 lanes). */
    private static final FloatVector NIBBLES = FloatVector.fromArray(F, new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
            15}, 0);

    /** A group's 16 weights by nibble, {@code (float) (q - 8) * d} rounded once as {@link #part} gives them, as int bits to select from. */
    private static IntVector levels(float d) {
        return levels((byte) 8, d);
    }

    /** {@code (float) (q - z) * s} for q = 0..15: q - z is exact in float, so each is rounded once, as a conversion then a multiply gives it. */
    static IntVector levels(byte z, float s) {
        return NIBBLES.sub(z).mul(s).reinterpretAsInts();
    }

    /** A group's 16 bytes widened to 16 int lanes: lane j holds inputs {@code 32g + j} (low nibble) and {@code 32g + 16 + j} (high). */
    static IntVector nibbles(MemorySegment w, long wr, int g) {
        return (IntVector) ByteVector.fromMemorySegment(G, w, wr + (long) g * HALF, Matmul.LE).convertShape(VectorOperators.B2I, IL, 0);
    }

    /**
     * The weights of a group's first 16 inputs (hi false) or its other 16 (hi true), looked up in its {@link #levels}. No mask:
     * {@code selectFrom} wraps each index modulo the 16 lanes (its documented {@code wrapIndex}), which keeps the low 4 bits, the nibble.
     */
    static FloatVector lookup(IntVector levels, IntVector nibbles, boolean hi) {
        return (hi ? nibbles.lanewise(VectorOperators.LSHR, 4) : nibbles).selectFrom(levels).reinterpretAsFloats();
    }

    /** Inputs below this are in whole groups, read a group (one 16-byte load) at a time; the rest L at a time. */
    private static int groupEnd(int kEnd) {
        return kEnd / GROUP * GROUP;
    }

    private static float weight(MemorySegment w, long wr, int k, float d) {
        int q = (w.get(ValueLayout.JAVA_BYTE, at(wr, k)) >> shift(k)) & 0x0F;
        return (float) (q - 8) * d;
    }

    static float dot(MemorySegment w, float[] scales, int in, float[] bias, int r, float[] x, int t) {
        long wr = r * rowBytes(in);
        int sr = r * Linear.groups(in);
        int xr = t * in;
        FloatVector a = FloatVector.zero(F);
        int kEnd = F.loopBound(in);
        int gEnd = groupEnd(kEnd);
        for (int k = 0; k < gEnd; k += GROUP) {
            int g = k / GROUP;
            float d = scales[sr + g];
            if (LOOKUP) {
                IntVector lv = levels(d), q = nibbles(w, wr, g);
                a = lookup(lv, q, false).fma(FloatVector.fromArray(F, x, xr + k), a);
                a = lookup(lv, q, true).fma(FloatVector.fromArray(F, x, xr + k + HALF), a);
                continue;
            }
            for (int h = 0; h < 2; h++) {
                ByteVector q8 = half(w, wr, g, h == 1);
                for (int p = 0; p < PARTS; p++) {
                    a = part(q8, p, d).fma(FloatVector.fromArray(F, x, xr + k + h * HALF + p * L), a);
                }
            }
        }
        for (int k = gEnd; k < kEnd; k += L) {
            a = load(w, wr, k, scales[sr + k / GROUP]).fma(FloatVector.fromArray(F, x, xr + k), a);
        }
        return finish(a, w, scales, sr, wr, x, xr, kEnd, in, bias, r);
    }

    /** {@code y[ra]} and {@code y[rb]} for one token, each exactly as {@link #dot} computes it. */
    static void dot2(MemorySegment w, float[] scales, int in, float[] bias, int ra, int rb, float[] x, float[] y) {
        long wa = ra * rowBytes(in), wb = rb * rowBytes(in);
        int groups = Linear.groups(in);
        int sa = ra * groups, sb = rb * groups;
        FloatVector a = FloatVector.zero(F), b = a;
        int kEnd = F.loopBound(in);
        int gEnd = groupEnd(kEnd);
        // A group at a time: one 16-byte load per row gives 32 inputs (low nibbles, then high), its scale read once, the shifts constant.
        for (int k = 0; k < gEnd; k += GROUP) {
            int g = k / GROUP;
            float da = scales[sa + g], db = scales[sb + g];
            if (LOOKUP) {
                IntVector la = levels(da), lb = levels(db), qa = nibbles(w, wa, g), qb = nibbles(w, wb, g);
                FloatVector x0 = FloatVector.fromArray(F, x, k), x1 = FloatVector.fromArray(F, x, k + HALF);
                a = lookup(la, qa, false).fma(x0, a);
                b = lookup(lb, qb, false).fma(x0, b);
                a = lookup(la, qa, true).fma(x1, a);
                b = lookup(lb, qb, true).fma(x1, b);
                continue;
            }
            for (int h = 0; h < 2; h++) {
                ByteVector qa = half(w, wa, g, h == 1), qb = half(w, wb, g, h == 1);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector xv = FloatVector.fromArray(F, x, k + h * HALF + p * L);
                    a = part(qa, p, da).fma(xv, a);
                    b = part(qb, p, db).fma(xv, b);
                }
            }
        }
        for (int k = gEnd; k < kEnd; k += L) {
            FloatVector xv = FloatVector.fromArray(F, x, k);
            int g = k / GROUP;
            a = load(w, wa, k, scales[sa + g]).fma(xv, a);
            b = load(w, wb, k, scales[sb + g]).fma(xv, b);
        }
        y[ra] = finish(a, w, scales, sa, wa, x, 0, kEnd, in, bias, ra);
        y[rb] = finish(b, w, scales, sb, wb, x, 0, kEnd, in, bias, rb);
    }

    /** Rows {@code r..r+n} dequantized to F32 rows of {@code in} floats at {@code dst}, for the F32 tile. */
    static void widen(MemorySegment w, float[] scales, int in, int r, int n, MemorySegment dst) {
        int groups = Linear.groups(in);
        int kEnd = F.loopBound(in);
        for (int i = 0; i < n; i++) {
            long wr = (r + i) * rowBytes(in);
            int sr = (r + i) * groups;
            long dr = (long) i * in * 4;
            int gEnd = groupEnd(kEnd);
            for (int k = 0; k < gEnd; k += GROUP) {
                int g = k / GROUP;
                float d = scales[sr + g];
                if (LOOKUP) {
                    IntVector lv = levels(d), q = nibbles(w, wr, g);
                    lookup(lv, q, false).intoMemorySegment(dst, dr + k * 4L, Matmul.LE);
                    lookup(lv, q, true).intoMemorySegment(dst, dr + (k + HALF) * 4L, Matmul.LE);
                    continue;
                }
                for (int h = 0; h < 2; h++) {
                    ByteVector q8 = half(w, wr, g, h == 1);
                    for (int p = 0; p < PARTS; p++) {
                        part(q8, p, d).intoMemorySegment(dst, dr + (k + h * HALF + p * L) * 4L, Matmul.LE);
                    }
                }
            }
            for (int k = gEnd; k < kEnd; k += L) {
                load(w, wr, k, scales[sr + k / GROUP]).intoMemorySegment(dst, dr + k * 4L, Matmul.LE);
            }
            for (int k = kEnd; k < in; k++) {
                dst.set(Matmul.F32, dr + k * 4L, weight(w, wr, k, scales[sr + k / GROUP]));
            }
        }
    }

    private static float finish(FloatVector acc, MemorySegment w, float[] scales, int sr, long wr, float[] x, int xr, int kEnd, int in,
                                float[] bias, int r) {
        float s = Vec.sum(acc);
        for (int k = kEnd; k < in; k++) {
            s += weight(w, wr, k, scales[sr + k / GROUP]) * x[xr + k];
        }
        return bias == null ? s : s + bias[r];
    }

    /**
     * Quantizes an F32 or BF16 matrix as llama.cpp's {@code quantize_row_q4_0_ref} does: per row and group of 32 inputs,
     * {@code max} the signed input of largest magnitude (the first, on ties), {@code d = max / -8} and
     * {@code q = min(15, floor(w * (1/d) + 8.5))}, so {@code max} itself is q = 0, exactly {@code -8 * d}; into {@code arena}.
     */
    static Linear quantize(Linear src, Arena arena) {
        int rows = src.rows();
        int cols = src.cols();
        int groups = Linear.groups(cols);
        int rowBytes = (int) rowBytes(cols);
        MemorySegment q = arena.allocate((long) rows * rowBytes, 64);
        float[] scales = new float[rows * groups];
        float[] row = new float[cols];
        byte[] packed = new byte[rowBytes];
        for (int r = 0; r < rows; r++) {
            I8Tiles.read(src, r, row);
            java.util.Arrays.fill(packed, (byte) 0x88); // padding inputs are q = 8, weight 0
            for (int g = 0; g < groups; g++) {
                int from = g * GROUP;
                int to = Math.min(cols, from + GROUP);
                float amax = 0;
                float max = 0;
                for (int k = from; k < to; k++) {
                    if (amax < Math.abs(row[k])) {
                        amax = Math.abs(row[k]);
                        max = row[k];
                    }
                }
                float d = max / -8f;
                float id = d != 0 ? 1f / d : 0f;
                scales[r * groups + g] = d;
                for (int k = from; k < to; k++) {
                    int v = Math.clamp((long) Math.floor(row[k] * id + 8.5f), 0, 15);
                    int b = g * HALF + k % HALF;
                    int s = shift(k);
                    packed[b] = (byte) ((packed[b] & ~(0x0F << s)) | (v << s));
                }
            }
            MemorySegment.copy(packed, 0, q, ValueLayout.JAVA_BYTE, (long) r * rowBytes, rowBytes);
        }
        return new Linear(src.module(), src.layer(), q, DType.I4, rows, cols, src.bias(), scales);
    }
}

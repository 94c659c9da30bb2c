package dev.loraxj.backend.cpu;

import dev.loraxj.backend.LinearModule;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelException;
import dev.loraxj.model.PreQuantized;
import dev.loraxj.model.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Reads the linears of a GPTQ or AWQ (GEMM) checkpoint into the {@link DType#U4} layout the kernels stream: rows of output
 * features, each its nibbles in {@link I4Tiles}'s order, with a float scale and a zero point per row and group.
 *
 * <p>GPTQ: {@code qweight} int32 {@code [in/8, out]}, bits {@code 4j..4j+3} of word {@code [i, o]} holding input {@code 8i + j}
 * of output o; {@code qzeros} int32 {@code [groups, out/8]}, bits {@code 4j..} of {@code [g, c]} holding output {@code 8c + j}'s
 * zero point, stored minus one in AutoGPTQ's v1 format (read back as nibble + 1, as AutoGPTQ's own dequantizer does);
 * {@code scales} {@code [groups, out]}; {@code g_idx} int32 {@code [in]}, each input's group. AWQ GEMM: {@code qweight} int32
 * {@code [in, out/8]}, word {@code [k, c]} holding outputs {@code 8c..8c+7} of input k in AutoAWQ's interleaved nibble order,
 * {@code qzeros} {@code [groups, out/8]} likewise, {@code scales} {@code [groups, out]}, groups contiguous, zero points as they are.
 *
 * <p>An act-order {@code g_idx} puts a group's inputs anywhere. The rows store inputs sorted by group instead (a stable counting
 * sort) and the kernel gathers its input row through that order once per step: O(tokens * in) against the matmul's
 * O(tokens * in * out), and every vector load keeps one scale and one zero point, so act order costs nothing in the hot loop.
 */
final class PackedInt4 {

    /** Output {@code 8c + j} of an AWQ word sits in nibble {@code AWQ_NIBBLE[j]}: AutoAWQ packs nibble i with output order[i], order 0,2,4,6,1,3,5,7. */
    private static final int[] AWQ_NIBBLE = {0, 4, 1, 5, 2, 6, 3, 7};

    private final Checkpoint ckpt;
    private final PreQuantized format;
    private final Arena arena;
    private int[] lastOrder;
    private int read;

    PackedInt4(Checkpoint ckpt, PreQuantized format, Arena arena) {
        this.ckpt = ckpt;
        this.format = format;
        this.arena = arena;
    }

    /** Whether the checkpoint holds the linear named {@code base} (e.g. model.layers.0.self_attn.q_proj) quantized. */
    boolean holds(String base) {
        return ckpt.find(base + ".qweight").isPresent();
    }

    /** How many linears were read quantized. */
    int count() {
        return read;
    }

    /** The quantized linear {@code base} of {@code out} outputs and {@code in} inputs. */
    Linear read(LinearModule m, int layer, String base, int out, int in, float[] bias) {
        String what = format.method().label().toUpperCase(java.util.Locale.ROOT) + " linear " + base;
        int gs = format.groupSize(in);
        if (in % gs != 0) {
            throw new ModelException(ckpt.dir() + ": " + what + " has " + in + " inputs, not a multiple of group_size " + gs);
        }
        if (out % 8 != 0) {
            throw new ModelException(ckpt.dir() + ": " + what + " has " + out + " outputs, not a multiple of the 8 an int32 packs");
        }
        int groups = in / gs;
        for (String part : new String[] {"qzeros", "scales"}) {
            if (ckpt.find(base + "." + part).isEmpty()) {
                throw new ModelException(ckpt.dir() + ": " + what + " has a qweight but no " + part + " (it needs qweight, qzeros and scales)");
            }
        }
        Tensor scales = floats(base + ".scales", groups, out);
        Tensor qzeros = ints(base + ".qzeros", groups, out / 8);
        long rowBytes = I4Tiles.rowBytes(in);
        MemorySegment data = arena.allocate(out * rowBytes, 64);
        int[] order = null;
        if (format.method() == PreQuantized.Method.GPTQ) {
            if (in % 8 != 0) {
                throw new ModelException(ckpt.dir() + ": " + what + " has " + in + " inputs, not a multiple of the 8 an int32 packs");
            }
            Tensor gIdx = ckpt.find(base + ".g_idx").orElse(null);
            if (gIdx == null && format.descAct()) {
                throw new ModelException(ckpt.dir() + ": " + what + " has no g_idx, which desc_act (act order) needs");
            }
            order = gIdx == null ? null : shared(order(ints(base + ".g_idx", in), in, gs, groups, what));
            unpackGptq(ints(base + ".qweight", in / 8, out), order, out, in, data, rowBytes);
        } else {
            unpackAwq(ints(base + ".qweight", in, out / 8), out, in, data, rowBytes);
        }
        float[] s = new float[out * groups];
        byte[] z = new byte[out * groups];
        int plus = format.zeroMinusOne() ? 1 : 0;
        int[] nibbleOf = format.method() == PreQuantized.Method.AWQ ? AWQ_NIBBLE : null;
        for (int g = 0; g < groups; g++) {
            for (int o = 0; o < out; o++) {
                s[o * groups + g] = scales.getFloat((long) g * out + o);
                int word = qzeros.getInt((long) g * (out / 8) + o / 8);
                int nibble = nibbleOf == null ? o % 8 : nibbleOf[o % 8];
                z[o * groups + g] = (byte) (((word >>> (4 * nibble)) & 0x0F) + plus);
            }
        }
        read++;
        return new Linear(m, layer, data, DType.U4, out, in, bias, s, new ZeroPoints(gs, z, order));
    }

    private static void unpackGptq(Tensor qweight, int[] order, int out, int in, MemorySegment data, long rowBytes) {
        int[] position = null;
        if (order != null) {
            position = new int[in];
            for (int p = 0; p < in; p++) {
                position[order[p]] = p;
            }
        }
        for (int i = 0; i < in / 8; i++) {
            for (int o = 0; o < out; o++) {
                int word = qweight.getInt((long) i * out + o);
                for (int j = 0; j < 8; j++) {
                    int k = 8 * i + j;
                    put(data, o * rowBytes, position == null ? k : position[k], (word >>> (4 * j)) & 0x0F);
                }
            }
        }
    }

    private static void unpackAwq(Tensor qweight, int out, int in, MemorySegment data, long rowBytes) {
        int words = out / 8;
        for (int k = 0; k < in; k++) {
            for (int c = 0; c < words; c++) {
                int word = qweight.getInt((long) k * words + c);
                for (int j = 0; j < 8; j++) {
                    put(data, (8L * c + j) * rowBytes, k, (word >>> (4 * AWQ_NIBBLE[j])) & 0x0F);
                }
            }
        }
    }

    private static void put(MemorySegment data, long row, int p, int q) {
        long at = I4Tiles.at(row, p);
        int shift = I4Tiles.shift(p);
        byte b = data.get(ValueLayout.JAVA_BYTE, at);
        data.set(ValueLayout.JAVA_BYTE, at, (byte) ((b & ~(0x0F << shift)) | (q << shift)));
    }

    /**
     * The stored order of the inputs: sorted by group, stably, so group g is stored inputs {@code [g*gs, (g+1)*gs)}; null when that
     * is the checkpoint's own order. Every group must hold exactly {@code gs} inputs, as GPTQ's act order makes them.
     */
    private int[] order(Tensor gIdx, int in, int gs, int groups, String what) {
        int[] count = new int[groups];
        for (int k = 0; k < in; k++) {
            int g = gIdx.getInt(k);
            if (g < 0 || g >= groups) {
                throw new ModelException(ckpt.dir() + ": " + what + ".g_idx puts input " + k + " in group " + g + " of " + groups);
            }
            count[g]++;
        }
        for (int g = 0; g < groups; g++) {
            if (count[g] != gs) {
                throw new ModelException(ckpt.dir() + ": " + what + ".g_idx puts " + count[g] + " inputs in group " + g
                        + ", not group_size " + gs);
            }
        }
        int[] next = new int[groups];
        for (int g = 0; g < groups; g++) {
            next[g] = g * gs;
        }
        int[] order = new int[in];
        boolean inOrder = true;
        for (int k = 0; k < in; k++) {
            int p = next[gIdx.getInt(k)]++;
            order[p] = k;
            inOrder &= p == k;
        }
        return inOrder ? null : order;
    }

    /** The previous linear's order when equal (q/k/v and gate/up read one input), so their input is gathered once. */
    private int[] shared(int[] order) {
        if (order != null && lastOrder != null && Arrays.equals(order, lastOrder)) {
            return lastOrder;
        }
        if (order != null) {
            lastOrder = order;
        }
        return order;
    }

    private Tensor ints(String name, long... shape) {
        Tensor t = ckpt.tensor(name, shape);
        if (t.dtype() != DType.I32) {
            throw new ModelException(ckpt.dir() + ": tensor " + name + " is " + t.dtype().torchName() + ", expected int32");
        }
        return t;
    }

    private Tensor floats(String name, long... shape) {
        Tensor t = ckpt.tensor(name, shape);
        if (t.dtype() == DType.I32) {
            throw new ModelException(ckpt.dir() + ": tensor " + name + " is int32, expected float16, bfloat16 or float32");
        }
        return t;
    }
}

package dev.loraxj.backend.cpu;

import dev.loraxj.backend.LinearModule;
import dev.loraxj.model.DType;

import java.lang.foreign.MemorySegment;

/**
 * One weight matrix {@code [rows, cols]} (row-major, little-endian, F32, BF16, or int8 or int4 with a float
 * scale per row and group of {@link DType#I8_GROUP} inputs, or GPTQ's and AWQ's uint4 with a scale and a {@link ZeroPoints zero
 * point} per row and group) of a named module, with an optional bias. {@code layer} is -1 for the head.
 * An int4 or uint4 row is padded to whole blocks of 16 bytes ({@link I4Tiles} has the layout), so any width works.
 */
public record Linear(LinearModule module, int layer, MemorySegment data, DType dtype, int rows, int cols, float[] bias, float[] scales,
                     ZeroPoints zeros) {

    /** F32 or BF16 weights. */
    public Linear(LinearModule module, int layer, MemorySegment data, DType dtype, int rows, int cols, float[] bias) {
        this(module, layer, data, dtype, rows, cols, bias, null, null);
    }

    /** int8 or int4 weights with their scales. */
    public Linear(LinearModule module, int layer, MemorySegment data, DType dtype, int rows, int cols, float[] bias, float[] scales) {
        this(module, layer, data, dtype, rows, cols, bias, scales, null);
    }

    public Linear {
        if (dtype == DType.F16 || dtype == DType.I32) {
            throw new IllegalArgumentException(module + ": kernels take F32, BF16, int8, int4 or uint4 weights, got " + dtype);
        }
        boolean quantized = dtype == DType.I8 || dtype == DType.I4 || dtype == DType.U4;
        if (quantized != (scales != null)) {
            throw new IllegalArgumentException(module + ": int8, int4 and uint4 weights, and only they, come with scales");
        }
        if ((dtype == DType.U4) != (zeros != null)) {
            throw new IllegalArgumentException(module + ": uint4 weights, and only they, come with zero points");
        }
        if (zeros != null && (cols % zeros.groupSize() != 0 || zeros.values().length != rows * (cols / zeros.groupSize())
                || zeros.inputOrder() != null && zeros.inputOrder().length != cols)) {
            throw new IllegalArgumentException(module + ": zero points in groups of " + zeros.groupSize() + " do not fit [" + rows + ", "
                    + cols + "]");
        }
        if (zeros != null && zeros.groupSize() != cols && zeros.groupSize() % Matmul.L != 0) {
            // a vector of inputs must lie in one group, so that its scale and zero point are one
            throw new IllegalArgumentException(module + ": groups of " + zeros.groupSize() + " inputs are not whole vectors of " + Matmul.L);
        }
        if (scales != null && scales.length != rows * scaleGroups(cols, zeros)) {
            throw new IllegalArgumentException(module + ": " + scales.length + " scales for [" + rows + ", " + cols + "] in groups of "
                    + (zeros == null ? DType.I8_GROUP : zeros.groupSize()));
        }
        long bytes = dtype == DType.I4 || dtype == DType.U4 ? (long) rows * I4Tiles.rowBytes(cols) : (long) rows * cols * dtype.bytes();
        if (data.byteSize() != bytes) {
            throw new IllegalArgumentException(module + ": " + data.byteSize() + " bytes for [" + rows + ", " + cols + "] " + dtype);
        }
        if (!data.isNative()) {
            // One kind of segment per load site, or C2 falls back to slow, boxed vector loads.
            throw new IllegalArgumentException(module + ": weights must be in a native (off-heap or mapped) segment");
        }
        if (bias != null && bias.length != rows) {
            throw new IllegalArgumentException(module + ": bias of " + bias.length + " for " + rows + " rows");
        }
    }

    /** Scale groups per row of an int8 or int4 matrix with {@code cols} inputs (the last may be short). */
    public static int groups(int cols) {
        return (cols + DType.I8_GROUP - 1) / DType.I8_GROUP;
    }

    private static int scaleGroups(int cols, ZeroPoints zeros) {
        return zeros == null ? groups(cols) : cols / zeros.groupSize();
    }

    /** Scales (and zero points) per row: groups of 32 for int8 and int4, of the checkpoint's group size for uint4. */
    public int scaleGroups() {
        return scaleGroups(cols, zeros);
    }

    /** Whether the kernels read this matrix's input in another order than the checkpoint's (GPTQ's act order). */
    boolean permutesInput() {
        return zeros != null && zeros.inputOrder() != null;
    }

    /** Bytes streamed from memory each time the matrix is applied: weights, scales, zero points and the input order. */
    public long weightBytes() {
        long sum = data.byteSize() + (scales == null ? 0 : (long) scales.length * Float.BYTES);
        if (zeros != null) {
            sum += zeros.values().length + (zeros.inputOrder() == null ? 0 : (long) cols * Integer.BYTES);
        }
        return sum;
    }
}

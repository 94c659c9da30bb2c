package dev.loraxj.backend.cpu;

import dev.loraxj.backend.LinearModule;
import dev.loraxj.model.DType;

import java.lang.foreign.MemorySegment;

/**
 * One weight matrix {@code [rows, cols]} (row-major, little-endian, F32, BF16, or int8 with a float
 * scale per row and group of {@link DType#I8_GROUP} inputs) of a named module, with an optional bias. {@code layer} is -1 for the head.
 */
public record Linear(LinearModule module, int layer, MemorySegment data, DType dtype, int rows, int cols, float[] bias, float[] scales) {

    /** F32 or BF16 weights. */
    public Linear(LinearModule module, int layer, MemorySegment data, DType dtype, int rows, int cols, float[] bias) {
        this(module, layer, data, dtype, rows, cols, bias, null);
    }

    public Linear {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.I8) {
            throw new IllegalArgumentException(module + ": kernels take F32, BF16 or int8 weights, got " + dtype);
        }
        if ((dtype == DType.I8) != (scales != null)) {
            throw new IllegalArgumentException(module + ": int8 weights, and only they, come with scales");
        }
        if (scales != null && scales.length != rows * groups(cols)) {
            throw new IllegalArgumentException(module + ": " + scales.length + " scales for [" + rows + ", " + cols + "] in groups of "
                    + DType.I8_GROUP);
        }
        if (data.byteSize() != (long) rows * cols * dtype.bytes()) {
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

    /** Scale groups per row of an int8 matrix with {@code cols} inputs (the last may be short). */
    public static int groups(int cols) {
        return (cols + DType.I8_GROUP - 1) / DType.I8_GROUP;
    }

    /** Bytes streamed from memory each time the matrix is applied. */
    public long weightBytes() {
        return data.byteSize() + (scales == null ? 0 : (long) scales.length * Float.BYTES);
    }
}

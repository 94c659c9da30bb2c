package dev.loraxj.backend.cpu;

import dev.loraxj.backend.LinearModule;
import dev.loraxj.model.DType;

import java.lang.foreign.MemorySegment;

/**
 * One weight matrix {@code [rows, cols]} (row-major, little-endian, F32, BF16, or int8 or int4 with a float
 * scale per row and group of {@link DType#I8_GROUP} inputs) of a named module, with an optional bias. {@code layer} is -1 for the head.
 * An int4 row is padded to whole groups of 16 bytes ({@link I4Tiles} has the layout), so any width works.
 */
public record Linear(LinearModule module, int layer, MemorySegment data, DType dtype, int rows, int cols, float[] bias, float[] scales) {

    /** F32 or BF16 weights. */
    public Linear(LinearModule module, int layer, MemorySegment data, DType dtype, int rows, int cols, float[] bias) {
        this(module, layer, data, dtype, rows, cols, bias, null);
    }

    public Linear {
        if (dtype == DType.F16) {
            throw new IllegalArgumentException(module + ": kernels take F32, BF16, int8 or int4 weights, got " + dtype);
        }
        boolean quantized = dtype == DType.I8 || dtype == DType.I4;
        if (quantized != (scales != null)) {
            throw new IllegalArgumentException(module + ": int8 and int4 weights, and only they, come with scales");
        }
        if (scales != null && scales.length != rows * groups(cols)) {
            throw new IllegalArgumentException(module + ": " + scales.length + " scales for [" + rows + ", " + cols + "] in groups of "
                    + DType.I8_GROUP);
        }
        long bytes = dtype == DType.I4 ? (long) rows * I4Tiles.rowBytes(cols) : (long) rows * cols * dtype.bytes();
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

    /** Bytes streamed from memory each time the matrix is applied. */
    public long weightBytes() {
        return data.byteSize() + (scales == null ? 0 : (long) scales.length * Float.BYTES);
    }
}

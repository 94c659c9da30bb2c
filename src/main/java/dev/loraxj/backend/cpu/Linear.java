package dev.loraxj.backend.cpu;

import dev.loraxj.backend.Module;
import dev.loraxj.model.DType;

import java.lang.foreign.MemorySegment;

/**
 * One weight matrix {@code [rows, cols]} (row-major, little-endian, F32 or BF16) of a named module,
 * with an optional bias. {@code layer} is -1 for the head.
 */
public record Linear(Module module, int layer, MemorySegment data, DType dtype, int rows, int cols, float[] bias) {

    public Linear {
        if (dtype != DType.F32 && dtype != DType.BF16) {
            throw new IllegalArgumentException(module + ": kernels take F32 or BF16 weights, got " + dtype);
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

    /** Bytes streamed from memory each time the matrix is applied. */
    public long weightBytes() {
        return data.byteSize();
    }
}

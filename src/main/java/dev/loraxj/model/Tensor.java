package dev.loraxj.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A tensor viewed in place (usually inside an mmap'd checkpoint). Row-major, little-endian.
 * The segment stays valid while the {@link SafeTensors} file that produced it is open.
 */
public record Tensor(String name, DType dtype, long[] shape, MemorySegment data) {

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    public Tensor {
        long expected = dtype.bytes() * numel(shape);
        if (data.byteSize() != expected) {
            throw new ModelException("tensor " + name + ": " + data.byteSize() + " bytes for shape "
                    + Arrays.toString(shape) + " of " + dtype + " (expected " + expected + ")");
        }
    }

    public long numel() {
        return numel(shape);
    }

    public int rank() {
        return shape.length;
    }

    /** Size of dimension {@code i}; negative i counts from the end. */
    public int dim(int i) {
        long d = shape[i < 0 ? shape.length + i : i];
        if (d > Integer.MAX_VALUE) {
            throw new ModelException("tensor " + name + " dimension too large: " + d);
        }
        return (int) d;
    }

    /** Element {@code index} (flat, row-major) widened to float. */
    public float getFloat(long index) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, index);
            case BF16 -> DType.bf16ToFloat(data.getAtIndex(I16, index));
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, index));
            case I32 -> throw new ModelException("tensor " + name + " holds int32 values, not floats");
            case I8, I4, U4 -> throw new ModelException("tensor " + name + ": " + dtype.torchName() + " is a quantized kernel layout, not a tensor dtype");
        };
    }

    /** Element {@code index} (flat, row-major) of an int32 tensor. */
    public int getInt(long index) {
        if (dtype != DType.I32) {
            throw new ModelException("tensor " + name + " holds " + dtype.torchName() + " values, expected int32");
        }
        return data.getAtIndex(I32, index);
    }

    /** A heap copy widened to F32. */
    public float[] toFloats() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new ModelException("tensor " + name + " too large to copy to the heap: " + n + " elements");
        }
        float[] out = new float[(int) n];
        if (dtype == DType.F32) {
            MemorySegment.copy(data, F32, 0, out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) {
                out[i] = getFloat(i);
            }
        }
        return out;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}

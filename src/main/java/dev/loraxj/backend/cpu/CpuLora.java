package dev.loraxj.backend.cpu;

import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.LinearModule;
import dev.loraxj.backend.LoraShape;
import dev.loraxj.backend.LoraUpdate;
import dev.loraxj.model.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

/**
 * An adapter registered with the CPU backend: each update laid out for {@link LoraKernels} (A as is,
 * B transposed, the scale kept apart; BF16 packed for the vector width, F32 as floats), so that every
 * weight stays exactly what the file holds.
 */
final class CpuLora extends AdapterSlot {

    private static final ValueLayout.OfShort BF16_BITS = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private volatile LoraMatrix[][] matrices; // [layer][module]; null once released

    private CpuLora(LoraMatrix[][] matrices, AdapterFootprint footprint) {
        super(footprint);
        this.matrices = matrices;
    }

    /** Lays out {@code updates} for a model of {@code numLayers} layers. */
    static CpuLora of(List<LoraUpdate> updates, int numLayers) {
        LoraMatrix[][] m = new LoraMatrix[numLayers][LinearModule.values().length];
        for (LoraUpdate u : updates) {
            LoraShape s = u.shape();
            if (s.layer() < 0 || s.layer() >= numLayers) {
                throw new IllegalArgumentException("LoRA update for layer " + s.layer() + " of a model with " + numLayers + " layers");
            }
            if (m[s.layer()][s.module().ordinal()] != null) {
                throw new IllegalArgumentException("two LoRA updates for " + s.module() + " of layer " + s.layer());
            }
            m[s.layer()][s.module().ordinal()] = switch (s.dtype()) {
                case BF16 -> LoraMatrix.Bf16.pack(s.rank(), s.in(), s.out(), u.scale(), shorts(u.a()),
                        transpose(shorts(u.b()), s.out(), s.rank()));
                case F32 -> new LoraMatrix.F32(s.rank(), s.in(), s.out(), u.scale(), floats(u.a()),
                        transpose(floats(u.b()), s.out(), s.rank()));
                default -> throw new IllegalArgumentException("LoRA updates are BF16 or F32, not " + s.dtype().torchName());
            };
        }
        return new CpuLora(m, footprint(updates.stream().map(LoraUpdate::shape).toList()));
    }

    /** What {@link #of} will hold for these shapes, all in the device tier (the CPU's device is the host). */
    static AdapterFootprint footprint(List<LoraShape> shapes) {
        long bytes = 0;
        for (LoraShape s : shapes) {
            bytes += LoraMatrix.bytes(s.dtype(), s.rank(), s.in(), s.out());
        }
        return new AdapterFootprint(bytes, 0);
    }

    /** The update of {@code module} in {@code layer}, or null where the adapter leaves it alone. */
    LoraMatrix matrix(int layer, LinearModule module) {
        LoraMatrix[][] m = matrices;
        if (m == null) {
            throw new IllegalStateException(this + " was released but is still in a batch");
        }
        return m[layer][module.ordinal()];
    }

    void release() {
        if (markReleased()) {
            matrices = null;
        }
    }

    /** The elements, without a copy when the segment is a whole little-endian short[] (as adapter loads hand them over). */
    private static short[] shorts(MemorySegment seg) {
        if (seg.heapBase().orElse(null) instanceof short[] whole && whole.length * 2L == seg.byteSize()
                && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            return whole;
        }
        short[] out = new short[Math.toIntExact(seg.byteSize() / 2)];
        MemorySegment.copy(seg, BF16_BITS, 0, out, 0, out.length);
        return out;
    }

    private static float[] floats(MemorySegment seg) {
        if (seg.heapBase().orElse(null) instanceof float[] whole && whole.length * 4L == seg.byteSize()
                && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            return whole;
        }
        float[] out = new float[Math.toIntExact(seg.byteSize() / 4)];
        MemorySegment.copy(seg, F32, 0, out, 0, out.length);
        return out;
    }

    /** {@code [rows, cols]} to {@code [cols, rows]}, row-major. */
    private static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = m[r * cols + c];
            }
        }
        return t;
    }

    private static short[] transpose(short[] m, int rows, int cols) {
        short[] t = new short[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = m[r * cols + c];
            }
        }
        return t;
    }
}

package dev.loraxj.backend;

import java.lang.foreign.MemorySegment;

/**
 * One linear's low-rank update, {@code y += scale · B (A x)}, in no backend's layout: A {@code [rank, in]}
 * and B {@code [out, rank]} row-major as PEFT stores them, elements of {@code shape.dtype()} little-endian,
 * every value checked finite. What {@link Backend#register} takes, and owns from then on: it may keep
 * the arrays behind the segments rather than copy them, so the caller never writes them again.
 */
public record LoraUpdate(LoraShape shape, float scale, MemorySegment a, MemorySegment b) {

    public LoraUpdate {
        long elem = shape.dtype().bytes();
        if (a.byteSize() != elem * shape.rank() * shape.in() || b.byteSize() != elem * shape.out() * shape.rank()) {
            throw new IllegalArgumentException("LoRA update sizes do not match rank " + shape.rank() + ", in " + shape.in()
                    + ", out " + shape.out());
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("LoRA scale must be finite, got " + scale);
        }
    }
}

package dev.loraxj.backend;

import java.util.concurrent.atomic.AtomicLong;

/**
 * An adapter's weights as one backend holds them, from {@link Backend#register} until
 * {@link Backend#release}. A {@link StepBatch} names each sequence's adapter by its slot, and the
 * slot is what "the same adapter" means everywhere below the service: the scheduler groups rows by
 * it, the prefix cache keys KV by its serial, the LoRA kernels find their weights through it.
 */
public abstract class AdapterSlot {

    private static final AtomicLong SERIALS = new AtomicLong();

    private final long serial = SERIALS.incrementAndGet();
    private final AdapterFootprint footprint;
    private volatile boolean released;

    protected AdapterSlot(AdapterFootprint footprint) {
        this.footprint = footprint;
    }

    /** Unique for the process, never reused: KV computed under one registration never meets another. */
    public final long serial() {
        return serial;
    }

    /** What the backend holds for it, per tier. */
    public final AdapterFootprint footprint() {
        return footprint;
    }

    public final boolean released() {
        return released;
    }

    /** Marks the slot released; the backend frees what it held. Returns false if it already was. */
    protected final boolean markReleased() {
        if (released) {
            return false;
        }
        released = true;
        return true;
    }

    @Override
    public String toString() {
        return "adapter slot " + serial;
    }
}

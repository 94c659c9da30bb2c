package dev.loraxj.backend.cuda;

import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.LinearModule;
import dev.loraxj.backend.LoraShape;

import java.util.List;

/**
 * Where an adapter's matrices sit in its one device allocation (and the pinned host copy behind it,
 * laid out the same): per update, A {@code [rank, in]} then Bᵀ {@code [rank, out]}, bf16, each at a
 * 256-byte boundary so the SGMV kernels' 16-byte loads stay aligned. Indexed by (layer, module).
 */
final class SlotLayout {

    static final int ALIGN = 256;
    private static final int MODULES = LinearModule.values().length;

    private final int numLayers;
    private final int[] rank;
    private final long[] aOffset;
    private final long[] btOffset;
    private final long bytes;

    private SlotLayout(int numLayers, int[] rank, long[] aOffset, long[] btOffset, long bytes) {
        this.numLayers = numLayers;
        this.rank = rank;
        this.aOffset = aOffset;
        this.btOffset = btOffset;
        this.bytes = bytes;
    }

    /** Lays out {@code shapes} for a model of {@code numLayers} layers; refuses duplicates, layers out of range and ranks past the kernels'. */
    static SlotLayout of(List<LoraShape> shapes, int numLayers) {
        int[] rank = new int[numLayers * MODULES];
        long[] a = new long[rank.length];
        long[] bt = new long[rank.length];
        long at = 0;
        for (LoraShape s : shapes) {
            if (s.layer() < 0 || s.layer() >= numLayers) {
                throw new IllegalArgumentException("LoRA update for layer " + s.layer() + " of a model with " + numLayers + " layers");
            }
            if (s.rank() > LaunchGrid.MAX_RANK) {
                throw new IllegalArgumentException("LoRA rank " + s.rank() + " of " + s.module() + " in layer " + s.layer()
                        + ": the CUDA kernels take ranks up to " + LaunchGrid.MAX_RANK);
            }
            int i = index(s.layer(), s.module());
            if (rank[i] != 0) {
                throw new IllegalArgumentException("two LoRA updates for " + s.module() + " of layer " + s.layer());
            }
            rank[i] = s.rank();
            a[i] = at;
            at = align(at + 2L * s.rank() * s.in());
            bt[i] = at;
            at = align(at + 2L * s.rank() * s.out());
        }
        return new SlotLayout(numLayers, rank, a, bt, at);
    }

    /** What a slot of these shapes holds: the same bytes on the device and pinned on the host. */
    static AdapterFootprint footprint(List<LoraShape> shapes) {
        long bytes = 0;
        for (LoraShape s : shapes) {
            bytes = align(align(bytes + 2L * s.rank() * s.in()) + 2L * s.rank() * s.out());
        }
        return new AdapterFootprint(bytes, bytes);
    }

    static long align(long n) {
        return (n + ALIGN - 1) / ALIGN * ALIGN;
    }

    private static int index(int layer, LinearModule m) {
        return layer * MODULES + m.ordinal();
    }

    /** Bytes of the whole allocation. */
    long bytes() {
        return bytes;
    }

    int numLayers() {
        return numLayers;
    }

    /** The rank of the update of {@code m} in {@code layer}; 0 where the adapter leaves it alone. */
    int rank(int layer, LinearModule m) {
        return rank[index(layer, m)];
    }

    long aOffset(int layer, LinearModule m) {
        return aOffset[index(layer, m)];
    }

    long btOffset(int layer, LinearModule m) {
        return btOffset[index(layer, m)];
    }
}

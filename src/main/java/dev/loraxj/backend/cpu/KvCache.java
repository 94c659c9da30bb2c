package dev.loraxj.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The paged float32 KV cache: per layer, one off-heap K and one V region of {@code numBlocks} blocks
 * of {@code blockSize} token slots. V is slot-major ({@code [block][slot][kvHead][headDim]}), so a
 * head's value row is contiguous for the weighted sum. K is dimension-major within a block
 * ({@code [block][kvHead][headDim][slot]}), so the scores of a block's slots are one vector FMA per
 * dimension with no horizontal reductions. Off-heap so a cache over 2 GiB works and the GC never scans it.
 * Each region ends with one vector of padding, so whole-vector reads past the last slot stay in bounds.
 */
public final class KvCache implements AutoCloseable {

    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] keys;
    private final MemorySegment[] values;
    private final int numBlocks;
    private final int blockSize;
    private final int kvHeads;
    private final int headDim;

    public KvCache(int numLayers, int numBlocks, int blockSize, int kvHeads, int headDim) {
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("KV cache needs numBlocks > 0 and blockSize > 0, got " + numBlocks + " and " + blockSize);
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        // One vector of padding: attention reads whole vectors past a block's last slot.
        long bytes = ((long) numBlocks * blockSize * kvHeads * headDim + Vec.L) * Float.BYTES;
        keys = new MemorySegment[numLayers];
        values = new MemorySegment[numLayers];
        try {
            for (int l = 0; l < numLayers; l++) {
                keys[l] = arena.allocate(bytes, 64);
                values[l] = arena.allocate(bytes, 64);
            }
        } catch (OutOfMemoryError e) {
            arena.close();
            throw new IllegalStateException("cannot allocate a KV cache of " + numBlocks + " blocks × " + blockSize
                    + " slots (" + (2L * numLayers * bytes >> 20) + " MiB): lower the KV cache budget", e);
        }
    }

    public int numBlocks() {
        return numBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    public MemorySegment keys(int layer) {
        return keys[layer];
    }

    public MemorySegment values(int layer) {
        return values[layer];
    }

    /** Byte offset of K[block][kvHead][0][0]; dimension d of slot s is {@code (d * blockSize + s)} floats further. */
    public long keyBase(int block, int kvHead) {
        return ((long) block * kvHeads + kvHead) * headDim * blockSize * Float.BYTES;
    }

    /** Byte offset of V[block][slot][kvHead][0]; the head's headDim values follow contiguously. */
    public long valueOffset(int block, int slot, int kvHead) {
        return (((long) block * blockSize + slot) * kvHeads + kvHead) * headDim * Float.BYTES;
    }

    /** Stores one token's k and v ({@code kvHeads × headDim} floats from {@code ko}, {@code vo}) at {@code position}. */
    public void write(int layer, int[] blockTable, int position, float[] k, int ko, float[] v, int vo) {
        int block = blockTable[position / blockSize];
        int slot = position % blockSize;
        MemorySegment kSeg = keys[layer];
        for (int h = 0; h < kvHeads; h++) {
            long base = keyBase(block, h) + (long) slot * Float.BYTES;
            for (int d = 0; d < headDim; d++) {
                kSeg.set(Matmul.F32, base + (long) d * blockSize * Float.BYTES, k[ko + h * headDim + d]);
            }
        }
        MemorySegment.copy(v, vo, values[layer], Matmul.F32, valueOffset(block, slot, 0), kvHeads * headDim);
    }

    @Override
    public void close() {
        arena.close();
    }
}

package dev.loraxj.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The paged float32 KV cache: per layer, one off-heap K and one V region of
 * {@code numBlocks × blockSize} token slots, each slot {@code kvDim} floats (kv heads × head_dim).
 * Off-heap so a cache larger than 2 GiB works and the GC never scans or moves it.
 */
public final class KvCache implements AutoCloseable {

    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] keys;
    private final MemorySegment[] values;
    private final int numBlocks;
    private final int blockSize;
    private final int kvDim;

    public KvCache(int numLayers, int numBlocks, int blockSize, int kvDim) {
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("KV cache needs numBlocks > 0 and blockSize > 0, got " + numBlocks + " and " + blockSize);
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvDim = kvDim;
        long bytes = (long) numBlocks * blockSize * kvDim * Float.BYTES;
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

    /** Byte offset of the slot holding {@code position} of the sequence with {@code blockTable}. */
    public long slotOffset(int[] blockTable, int position) {
        int block = blockTable[position / blockSize];
        return ((long) block * blockSize + position % blockSize) * kvDim * Float.BYTES;
    }

    /** Copies {@code kvDim} floats of k and v (from {@code ko}, {@code vo}) into the slot of {@code position}. */
    public void write(int layer, int[] blockTable, int position, float[] k, int ko, float[] v, int vo) {
        long off = slotOffset(blockTable, position);
        MemorySegment.copy(k, ko, keys[layer], ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(Matmul.LE), off, kvDim);
        MemorySegment.copy(v, vo, values[layer], ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(Matmul.LE), off, kvDim);
    }

    @Override
    public void close() {
        arena.close();
    }
}

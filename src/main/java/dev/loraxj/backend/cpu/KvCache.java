package dev.loraxj.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The paged KV cache, in float32 or bfloat16: per layer, one off-heap K and one V region of {@code numBlocks} blocks
 * of {@code blockSize} token slots. V is slot-major ({@code [block][slot][kvHead][headDim]}), so a
 * head's value row is contiguous for the weighted sum. K is dimension-major within a block
 * ({@code [block][kvHead][headDim][slot]}), so the scores of a block's slots are one vector FMA per
 * dimension with no horizontal reductions. Off-heap so a cache over 2 GiB works and the GC never scans it.
 * Each region ends with one vector of padding, so whole-vector reads past the last slot stay in bounds.
 * In bfloat16 each value is rounded to nearest even when written and widened exactly when read.
 */
public final class KvCache implements AutoCloseable {

    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] keys;
    private final MemorySegment[] values;
    private final int numBlocks;
    private final int blockSize;
    private final int kvHeads;
    private final int headDim;

    private final boolean bf16;
    private final int elem;

    public KvCache(int numLayers, int numBlocks, int blockSize, int kvHeads, int headDim) {
        this(numLayers, numBlocks, blockSize, kvHeads, headDim, dev.loraxj.model.DType.F32);
    }

    public KvCache(int numLayers, int numBlocks, int blockSize, int kvHeads, int headDim, dev.loraxj.model.DType dtype) {
        if (dtype != dev.loraxj.model.DType.F32 && dtype != dev.loraxj.model.DType.BF16) {
            throw new IllegalArgumentException("the KV cache holds float32 or bfloat16, not " + dtype.torchName());
        }
        this.bf16 = dtype == dev.loraxj.model.DType.BF16;
        this.elem = dtype.bytes();
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("KV cache needs numBlocks > 0 and blockSize > 0, got " + numBlocks + " and " + blockSize);
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        // One vector of padding: attention reads whole vectors past a block's last slot.
        long bytes = ((long) numBlocks * blockSize * kvHeads * headDim + Vec.L) * elem;
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

    /** Whether values are stored as bfloat16 (else float32). */
    public boolean bf16() {
        return bf16;
    }

    /** Bytes of one stored value. */
    public int elementBytes() {
        return elem;
    }

    public MemorySegment keys(int layer) {
        return keys[layer];
    }

    public MemorySegment values(int layer) {
        return values[layer];
    }

    /** Byte offset of K[block][kvHead][0][0]; dimension d of slot s is {@code (d * blockSize + s)} values further. */
    public long keyBase(int block, int kvHead) {
        return ((long) block * kvHeads + kvHead) * headDim * blockSize * elem;
    }

    /** Byte offset of V[block][slot][kvHead][0]; the head's headDim values follow contiguously. */
    public long valueOffset(int block, int slot, int kvHead) {
        return (((long) block * blockSize + slot) * kvHeads + kvHead) * headDim * elem;
    }

    /** Stores one token's k and v ({@code kvHeads × headDim} floats from {@code ko}, {@code vo}) at {@code position}. */
    public void write(int layer, int[] blockTable, int position, float[] k, int ko, float[] v, int vo) {
        int block = blockTable[position / blockSize];
        int slot = position % blockSize;
        MemorySegment kSeg = keys[layer];
        if (bf16) {
            for (int h = 0; h < kvHeads; h++) {
                long base = keyBase(block, h) + (long) slot * elem;
                for (int d = 0; d < headDim; d++) {
                    kSeg.set(Matmul.I16, base + (long) d * blockSize * elem, toBf16(k[ko + h * headDim + d]));
                }
            }
            MemorySegment vSeg = values[layer];
            long at = valueOffset(block, slot, 0);
            for (int i = 0; i < kvHeads * headDim; i++) {
                vSeg.set(Matmul.I16, at + (long) i * elem, toBf16(v[vo + i]));
            }
            return;
        }
        for (int h = 0; h < kvHeads; h++) {
            long base = keyBase(block, h) + (long) slot * Float.BYTES;
            for (int d = 0; d < headDim; d++) {
                kSeg.set(Matmul.F32, base + (long) d * blockSize * Float.BYTES, k[ko + h * headDim + d]);
            }
        }
        MemorySegment.copy(v, vo, values[layer], Matmul.F32, valueOffset(block, slot, 0), kvHeads * headDim);
    }

    /** float32 to bfloat16, rounding to nearest even (as torch's .to(bfloat16)); NaN stays NaN. */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40); // a quiet NaN
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    @Override
    public void close() {
        arena.close();
    }
}

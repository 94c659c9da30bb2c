package dev.loraxj.engine;

/**
 * The paged KV cache's bookkeeping: fixed blocks of {@code blockSize} token slots and a free list.
 * The backend holds the storage; this class decides which block a sequence's tokens go to.
 * Engine thread only.
 */
public final class KvBlockPool {

    private final int blockSize;
    private final int[] freeList;
    private int freeCount;

    public KvBlockPool(int numBlocks, int blockSize) {
        if (numBlocks < 1 || blockSize < 1) {
            throw new IllegalArgumentException("need at least one block of at least one slot");
        }
        this.blockSize = blockSize;
        this.freeList = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            freeList[i] = numBlocks - 1 - i; // pop from the end hands out low ids first
        }
        this.freeCount = numBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    public int numBlocks() {
        return freeList.length;
    }

    public int freeBlocks() {
        return freeCount;
    }

    public int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    public boolean canAllocate(int blocks) {
        return blocks <= freeCount;
    }

    /** Grows {@code table} to hold {@code tokens} slots; the caller checked {@link #canAllocate}. */
    public void allocate(BlockTable table, int tokens) {
        int need = blocksFor(tokens) - table.size();
        if (need > freeCount) {
            throw new IllegalStateException("KV cache exhausted: need " + need + " blocks, " + freeCount + " free");
        }
        for (int i = 0; i < need; i++) {
            table.add(freeList[--freeCount]);
        }
    }

    /** Returns every block of {@code table} to the free list and empties it. */
    public void free(BlockTable table) {
        for (int i = table.size() - 1; i >= 0; i--) {
            freeList[freeCount++] = table.get(i);
        }
        table.clear();
    }
}

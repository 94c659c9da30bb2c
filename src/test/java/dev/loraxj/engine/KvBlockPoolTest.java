package dev.loraxj.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The block manager's prefix cache: registration, exact hits, LRU eviction, and a chain whose parent was evicted. */
class KvBlockPoolTest {

    static int[] tokens(int n, int seed) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = seed * 1000 + i;
        }
        return t;
    }

    /** Admits a sequence as the scheduler does: shares what the cache holds, allocates the rest, registers its full blocks. */
    static BlockTable admit(KvBlockPool pool, int[] t, long adapter, String salt, PrefixChain chain) {
        BlockTable table = new BlockTable(4);
        KvBlockPool.PrefixHit hit = pool.lookup(t, t.length, adapter, salt);
        pool.share(table, hit, chain);
        pool.allocate(table, t.length);
        pool.register(table, t.length / pool.blockSize(), chain, t, adapter, salt);
        return table;
    }

    @Test
    void aFinishedSequencesFullBlocksAreHitExactlyAndEvictedLeastRecentlyUsedFirst() {
        KvBlockPool pool = new KvBlockPool(8, 4);
        int[] a = tokens(13, 1); // 3 full blocks and one partial
        BlockTable ta = admit(pool, a, 7, null, new PrefixChain());
        pool.free(ta);
        assertEquals(8, pool.freeBlocks());
        assertEquals(3, pool.cachedBlocks(), "the full blocks stay cached, unreferenced");
        assertEquals(3, pool.lookup(a, a.length, 7, null).blocks().length);
        assertEquals(0, pool.lookup(a, a.length, 8, null).blocks().length, "another adapter");
        assertEquals(0, pool.lookup(a, a.length, 7, "s").blocks().length, "another salt");
        int[] prefixOnly = java.util.Arrays.copyOf(a, 9);
        assertEquals(2, pool.lookup(prefixOnly, 9, 7, null).blocks().length, "the last token is always computed: 8 of 9 tokens hit");
        int[] changed = a.clone();
        changed[5] = -1;
        assertEquals(1, pool.lookup(changed, changed.length, 7, null).blocks().length, "a different second block ends the hit");
        // taking the whole pool evicts cached blocks only when the free ones are gone, deepest first
        // (a sequence's blocks are released last to first), so what stays is still a usable prefix
        BlockTable all = new BlockTable(8);
        pool.allocate(all, 5 * 4);
        assertEquals(3, pool.cachedBlocks(), "the five free blocks went first");
        pool.allocate(all, 6 * 4);
        assertEquals(2, pool.cachedBlocks());
        assertEquals(2, pool.lookup(a, a.length, 7, null).blocks().length, "its third block went; the first two still hit");
        pool.allocate(all, 8 * 4);
        assertEquals(0, pool.lookup(a, a.length, 7, null).blocks().length, "all evicted");
        pool.free(all);
    }

    @Test
    void aSharedBlockIsReferencedOncePerSequenceAndFreedWhenTheLastLetsGo() {
        KvBlockPool pool = new KvBlockPool(16, 4);
        int[] t = tokens(12, 2);
        BlockTable first = admit(pool, t, 0, null, new PrefixChain());
        BlockTable second = admit(pool, t, 0, null, new PrefixChain());
        assertArrayEquals(java.util.Arrays.copyOf(first.array(), 2), java.util.Arrays.copyOf(second.array(), 2), "two blocks shared");
        assertEquals(2, pool.refs(first.get(0)));
        assertEquals(1, pool.refs(first.get(2)), "the block holding the last token is private");
        pool.free(first);
        assertEquals(1, pool.refs(second.get(0)));
        pool.free(second);
        for (int b = 0; b < 16; b++) {
            assertEquals(0, pool.refs(b));
        }
        assertEquals(16, pool.freeBlocks());
    }

    @Test
    void aChainWhoseParentWasEvictedIsRegisteredAgain() {
        KvBlockPool pool = new KvBlockPool(8, 4);
        int[] t = tokens(9, 3);
        // A registers the first block only; B, computing the same prefix, goes through A's block and registers its second under it
        BlockTable a = admit(pool, java.util.Arrays.copyOf(t, 5), 0, null, new PrefixChain());
        BlockTable b = new BlockTable(4);
        pool.allocate(b, t.length);
        PrefixChain cb = new PrefixChain();
        pool.register(b, 2, cb, t, 0, null);
        assertEquals(2, pool.lookup(t, t.length, 0, null).blocks().length);
        pool.free(a); // A's block is now cached and unreferenced; B still holds its own
        BlockTable filler = new BlockTable(8);
        pool.allocate(filler, pool.freeBlocks() * 4); // every free block, then A's cached one
        assertEquals(0, pool.lookup(t, t.length, 0, null).blocks().length, "the chain's first block was evicted");
        pool.free(filler);
        // D computes the prefix again: its second block replaces B's registration, whose parent is gone
        BlockTable d = admit(pool, t, 0, null, new PrefixChain());
        pool.free(d);
        assertEquals(2, pool.lookup(t, t.length, 0, null).blocks().length, "the new computation is cached again, whole");
        pool.free(b);
    }

    @Test
    void droppingTheCacheFreesEveryCachedBlockAndForgetsEveryPrefix() {
        KvBlockPool pool = new KvBlockPool(8, 4);
        int[] t = tokens(13, 4);
        BlockTable held = admit(pool, t, 0, null, new PrefixChain());
        BlockTable other = admit(pool, tokens(9, 5), 0, null, new PrefixChain());
        pool.free(other);
        assertEquals(2, pool.cachedBlocks());
        pool.dropCache();
        assertEquals(0, pool.cachedBlocks());
        assertEquals(0, pool.lookup(t, t.length, 0, null).blocks().length, "a held block's registration is gone too");
        assertEquals(8 - held.size(), pool.freeBlocks());
        pool.free(held);
        assertEquals(8, pool.freeBlocks());
    }
}

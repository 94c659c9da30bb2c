package dev.loraxj.engine;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The paged KV cache's bookkeeping (vLLM's block manager): fixed blocks of {@code blockSize} token
 * slots, reference counts, a free list, and the automatic prefix cache. The backend holds the
 * storage; this class decides which block a sequence's tokens go to. Engine thread only.
 *
 * <p>A full block whose KV has been computed is registered under a hash chain over (its parent
 * block, its tokens, the adapter, the request's cache salt). A new sequence walks its own chain and
 * shares the longest run of registered blocks (reference counted) instead of recomputing them.
 * Each hit is verified exactly: the block's tokens, adapter and salt, and that its parent is the
 * very registration the walk matched one block earlier, so a hash collision can never share KV.
 * Unreferenced registered blocks stay until the pool needs them, least recently used first.
 */
public final class KvBlockPool {

    private static final long NO_PARENT = 0x9E3779B97F4A7C15L;

    private final int blockSize;
    private final int numBlocks;
    private final int[] freeList;       // unreferenced, unregistered blocks
    private int freeCount;
    private final int[] refs;
    // the prefix cache: one registration per block at most
    private final boolean caching;
    private final long[] key;           // chain hash of a registered block
    private final long[] gen;           // registration number (0: not registered)
    private final int[] parentBlock;    // the block matched before it (-1 for the first)
    private final long[] parentGen;
    private final long[] adapter;
    private final String[] salt;
    private final int[] tokens;         // numBlocks x blockSize
    private final Map<Long, Integer> index = new HashMap<>();
    private long registrations;
    // unreferenced registered blocks, least recently used at the head (an intrusive list)
    private final int[] prev;
    private final int[] next;
    private int lruHead = -1;
    private int lruTail = -1;
    private int lruCount;

    public KvBlockPool(int numBlocks, int blockSize) {
        this(numBlocks, blockSize, true);
    }

    public KvBlockPool(int numBlocks, int blockSize, boolean prefixCaching) {
        if (numBlocks < 1 || blockSize < 1) {
            throw new IllegalArgumentException("need at least one block of at least one slot");
        }
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.freeList = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            freeList[i] = numBlocks - 1 - i; // pop from the end hands out low ids first
        }
        this.freeCount = numBlocks;
        this.refs = new int[numBlocks];
        this.caching = prefixCaching;
        int n = prefixCaching ? numBlocks : 0;
        this.key = new long[n];
        this.gen = new long[n];
        this.parentBlock = new int[n];
        this.parentGen = new long[n];
        this.adapter = new long[n];
        this.salt = new String[n];
        this.tokens = new int[n * blockSize];
        this.prev = new int[n];
        this.next = new int[n];
    }

    public int blockSize() {
        return blockSize;
    }

    public int numBlocks() {
        return numBlocks;
    }

    /** Blocks a sequence could take now: free ones, and cached ones no sequence references. */
    public int freeBlocks() {
        return freeCount + lruCount;
    }

    /** Unreferenced blocks that still hold a cached prefix. */
    public int cachedBlocks() {
        return lruCount;
    }

    public int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    public boolean canAllocate(int blocks) {
        return blocks <= freeBlocks();
    }

    public boolean prefixCaching() {
        return caching;
    }

    /** Grows {@code table} to hold {@code tokens} slots; the caller checked {@link #canAllocate}. */
    public void allocate(BlockTable table, int tokens) {
        int need = blocksFor(tokens) - table.size();
        if (need > freeBlocks()) {
            throw new IllegalStateException("KV cache exhausted: need " + need + " blocks, " + freeBlocks() + " free");
        }
        for (int i = 0; i < need; i++) {
            int b = freeCount > 0 ? freeList[--freeCount] : evictOldest();
            refs[b] = 1;
            table.add(b);
        }
    }

    /** Releases every block of {@code table} and empties it; a registered block stays cached until needed. */
    public void free(BlockTable table) {
        for (int i = table.size() - 1; i >= 0; i--) {
            release(table.get(i));
        }
        table.clear();
    }

    private void release(int b) {
        if (--refs[b] > 0) {
            return;
        }
        if (caching && gen[b] != 0) {
            lruAppend(b);
        } else {
            freeList[freeCount++] = b;
        }
    }

    /**
     * Forgets every cached prefix (after a failed step, whose blocks were registered before they were
     * computed); unreferenced cached blocks become free. Blocks still referenced keep their contents.
     */
    public void dropCache() {
        if (!caching) {
            return;
        }
        while (lruHead >= 0) {
            int b = lruHead;
            lruRemove(b);
            unregister(b);
            freeList[freeCount++] = b;
        }
        for (int b = 0; b < numBlocks; b++) {
            if (gen[b] != 0) {
                unregister(b);
            }
        }
        index.clear();
    }

    /** Takes the least recently used cached block, dropping its registration. */
    private int evictOldest() {
        int b = lruHead;
        lruRemove(b);
        unregister(b);
        return b;
    }

    private void unregister(int b) {
        Integer at = index.get(key[b]);
        if (at != null && at == b) {
            index.remove(key[b]);
        }
        gen[b] = 0;
        salt[b] = null;
    }

    /**
     * What a sequence about to be admitted would reuse: the longest run of its full blocks that are
     * registered under its chain, leaving at least its last token to compute (its logits are needed).
     */
    public PrefixHit lookup(int[] seqTokens, int length, long adapterId, String cacheSalt) {
        if (!caching) {
            return PrefixHit.NONE;
        }
        int max = (length - 1) / blockSize;
        int hits = 0;
        int evictable = 0;
        long chain = NO_PARENT;
        int parent = -1;
        long parentRegistration = 0;
        int[] blocks = null;
        for (int i = 0; i < max; i++) {
            long k = chainKey(chain, seqTokens, i * blockSize, adapterId, cacheSalt);
            Integer b = index.get(k);
            if (b == null || !matches(b, seqTokens, i * blockSize, adapterId, cacheSalt, parent, parentRegistration)) {
                break;
            }
            if (blocks == null) {
                blocks = new int[max];
            }
            blocks[hits++] = b;
            if (refs[b] == 0) {
                evictable++;
            }
            chain = k;
            parent = b;
            parentRegistration = gen[b];
        }
        return hits == 0 ? PrefixHit.NONE : new PrefixHit(Arrays.copyOf(blocks, hits), evictable, chain);
    }

    /** Shares the hit's blocks into the (empty) table of a sequence being admitted, and starts its chain after them. */
    public void share(BlockTable table, PrefixHit hit, PrefixChain chain) {
        if (table.size() != 0) {
            throw new IllegalStateException("a prefix is shared into an empty block table only");
        }
        for (int b : hit.blocks()) {
            if (refs[b]++ == 0) {
                lruRemove(b);
            }
            table.add(b);
        }
        chain.reset();
        if (hit.blocks().length > 0) {
            int last = hit.blocks()[hit.blocks().length - 1];
            chain.advance(hit.chain(), last, gen[last], hit.blocks().length);
        }
    }

    /**
     * Registers the sequence's blocks that are full of computed KV now, those of {@code chain.count}
     * up to {@code fullBlocks}. A block whose content another sequence registered first stays private,
     * and the chain goes on through that registration.
     */
    public void register(BlockTable table, int fullBlocks, PrefixChain chain, int[] seqTokens, long adapterId, String cacheSalt) {
        if (!caching) {
            return;
        }
        for (int i = chain.count(); i < fullBlocks && !chain.broken(); i++) {
            int from = i * blockSize;
            long k = chainKey(chain.key(), seqTokens, from, adapterId, cacheSalt);
            Integer existing = index.get(k);
            if (existing != null && matches(existing, seqTokens, from, adapterId, cacheSalt, chain.block(), chain.gen())) {
                chain.advance(k, existing, gen[existing], i + 1);
                continue;
            }
            if (existing != null && stale(existing)) {
                unregister(existing); // its parent was evicted: no walk can reach it any more, so ours takes the key
                existing = null;
            }
            if (existing == null) {
                int b = table.get(i);
                if (gen[b] != 0) {
                    unregister(b); // cannot happen for a private block; never leave two registrations on one
                }
                key[b] = k;
                gen[b] = ++registrations;
                parentBlock[b] = chain.block();
                parentGen[b] = chain.gen();
                adapter[b] = adapterId;
                salt[b] = cacheSalt;
                System.arraycopy(seqTokens, from, tokens, b * blockSize, blockSize);
                index.put(k, b);
                chain.advance(k, b, gen[b], i + 1);
            } else {
                chain.breakOff(); // a hash collision with other content: stop sharing this sequence's blocks
            }
        }
    }

    /** A registration whose parent registration is gone (evicted, or the block registered anew). */
    private boolean stale(int b) {
        int parent = parentBlock[b];
        return parent >= 0 && gen[parent] != parentGen[b];
    }

    private boolean matches(int b, int[] seqTokens, int from, long adapterId, String cacheSalt, int parent, long parentRegistration) {
        if (gen[b] == 0 || adapter[b] != adapterId || !Objects.equals(salt[b], cacheSalt)
                || parentBlock[b] != parent || parentGen[b] != parentRegistration) {
            return false;
        }
        return Arrays.equals(tokens, b * blockSize, (b + 1) * blockSize, seqTokens, from, from + blockSize);
    }

    private long chainKey(long parent, int[] seqTokens, int from, long adapterId, String cacheSalt) {
        long h = mix(parent ^ adapterId * 0xC2B2AE3D27D4EB4FL);
        if (cacheSalt != null) {
            h = mix(h ^ cacheSalt.hashCode() ^ (long) cacheSalt.length() << 32);
        }
        for (int i = from; i < from + blockSize; i++) {
            h = mix(h ^ seqTokens[i]);
        }
        return h;
    }

    /** SplitMix64's finalizer. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private void lruAppend(int b) {
        prev[b] = lruTail;
        next[b] = -1;
        if (lruTail >= 0) {
            next[lruTail] = b;
        } else {
            lruHead = b;
        }
        lruTail = b;
        lruCount++;
    }

    private void lruRemove(int b) {
        if (prev[b] >= 0) {
            next[prev[b]] = next[b];
        } else {
            lruHead = next[b];
        }
        if (next[b] >= 0) {
            prev[next[b]] = prev[b];
        } else {
            lruTail = prev[b];
        }
        lruCount--;
    }

    /** References of a block (for tests: every count back at zero when idle). */
    int refs(int block) {
        return refs[block];
    }

    /**
     * The prefix a lookup found: blocks to share, how many of them no sequence references now (they
     * leave the free pool when shared), and the chain key after them.
     */
    public record PrefixHit(int[] blocks, int evictable, long chain) {
        static final PrefixHit NONE = new PrefixHit(new int[0], 0, NO_PARENT);

        public int tokens(int blockSize) {
            return blocks.length * blockSize;
        }
    }

    /** The chain key of an empty prefix. */
    public static long emptyChain() {
        return NO_PARENT;
    }
}

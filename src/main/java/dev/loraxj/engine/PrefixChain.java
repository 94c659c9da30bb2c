package dev.loraxj.engine;

/**
 * Where a sequence's prefix-cache chain stands: the chain key after its first {@link #count()}
 * full blocks, and the registration (block and its registration number) that stands for the last
 * of them. Engine thread only.
 */
final class PrefixChain {

    private long key = KvBlockPool.emptyChain();
    private int block = -1;
    private long gen;
    private int count;
    private boolean broken;

    void reset() {
        key = KvBlockPool.emptyChain();
        block = -1;
        gen = 0;
        count = 0;
        broken = false;
    }

    void advance(long key, int block, long gen, int count) {
        this.key = key;
        this.block = block;
        this.gen = gen;
        this.count = count;
    }

    void breakOff() {
        broken = true;
    }

    long key() {
        return key;
    }

    int block() {
        return block;
    }

    long gen() {
        return gen;
    }

    int count() {
        return count;
    }

    boolean broken() {
        return broken;
    }
}

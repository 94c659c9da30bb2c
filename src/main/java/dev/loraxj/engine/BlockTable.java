package dev.loraxj.engine;

import java.util.Arrays;

/** The physical KV blocks of one sequence, in position order. */
public final class BlockTable {

    private int[] blocks;
    private int size;

    public BlockTable(int capacity) {
        this.blocks = new int[Math.max(1, capacity)];
    }

    void add(int block) {
        if (size == blocks.length) {
            blocks = Arrays.copyOf(blocks, size * 2);
        }
        blocks[size++] = block;
    }

    int get(int i) {
        return blocks[i];
    }

    void clear() {
        size = 0;
    }

    public int size() {
        return size;
    }

    /** The backing array; entries past {@link #size()} are meaningless. */
    public int[] array() {
        return blocks;
    }
}

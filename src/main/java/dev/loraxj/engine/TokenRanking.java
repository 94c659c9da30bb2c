package dev.loraxj.engine;

/**
 * Keeps the best {@code m} tokens offered, by a float key (larger is better, ties go to the lower
 * id), without sorting the vocabulary: a bounded min-heap of (key, id) packed into longs, so no
 * boxing and no allocation once the heap has grown to the largest {@code m} asked for.
 */
final class TokenRanking {

    private long[] heap = new long[64];
    private int size;
    private int limit;
    private float rootKey;

    /** Begins a selection of at most {@code m} tokens. */
    void start(int m) {
        if (m < 1) {
            throw new IllegalArgumentException("must keep at least one token, got " + m);
        }
        if (heap.length < m) {
            heap = new long[Math.max(m, heap.length * 2)];
        }
        size = 0;
        limit = m;
    }

    void offer(float key, int id) {
        if (size == limit) {
            if (key < rootKey) {
                return;
            }
            long packed = pack(key, id);
            if (packed > heap[0]) {
                heap[0] = packed;
                siftDown(0, size);
                rootKey = keyOf(heap[0]);
            }
            return;
        }
        heap[size] = pack(key, id);
        siftUp(size++);
        rootKey = keyOf(heap[0]);
    }

    /** Orders what was kept, best first; returns how many. */
    int finish() {
        for (int end = size - 1; end > 0; end--) {
            long t = heap[0];
            heap[0] = heap[end];
            heap[end] = t;
            siftDown(0, end);
        }
        return size;
    }

    /** After {@link #finish()}: the id at rank i. */
    int id(int i) {
        return Integer.MAX_VALUE - (int) heap[i];
    }

    /** After {@link #finish()}: the key at rank i. */
    float key(int i) {
        return keyOf(heap[i]);
    }

    /** Orders as (key, -id): the float's bits made sign-monotonic in the high half, MAX-id in the low. */
    static long pack(float key, int id) {
        int bits = Float.floatToRawIntBits(key + 0.0f);
        bits ^= (bits >> 31) & 0x7FFFFFFF;
        return ((long) bits << 32) | (Integer.MAX_VALUE - id);
    }

    private static float keyOf(long packed) {
        int bits = (int) (packed >> 32);
        bits ^= (bits >> 31) & 0x7FFFFFFF;
        return Float.intBitsToFloat(bits);
    }

    private void siftUp(int i) {
        long x = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= x) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = x;
    }

    private void siftDown(int i, int n) {
        long x = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && heap[child + 1] < heap[child]) {
                child++;
            }
            if (x <= heap[child]) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = x;
    }
}

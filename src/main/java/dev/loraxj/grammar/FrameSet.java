package dev.loraxj.grammar;

import java.util.Arrays;
import java.util.HashSet;

/** The stacks a grammar may be in after some bytes (more than one where the grammar is ambiguous); no duplicates. */
final class FrameSet {

    /** Beyond this many live stacks the grammar is too ambiguous to follow. */
    static final int MAX_STACKS = 4096;

    private Frame[] frames = new Frame[4];
    private int size;
    private HashSet<Frame> index;
    /** Some path popped into {@link Frame#BOTTOM}: what follows depends on the callers. */
    boolean poppedBottom;

    void add(Frame f) {
        if (size < 8) {
            for (int i = 0; i < size; i++) {
                if (frames[i].equals(f)) {
                    return;
                }
            }
        } else {
            if (index == null) {
                index = new HashSet<>(Arrays.asList(frames).subList(0, size));
            }
            if (!index.add(f)) {
                return;
            }
        }
        if (size == MAX_STACKS) {
            throw new GrammarException("the constraint is too ambiguous to follow (over " + MAX_STACKS + " parses at once)");
        }
        if (size == frames.length) {
            frames = Arrays.copyOf(frames, size * 2);
        }
        frames[size++] = f;
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    Frame get(int i) {
        return frames[i];
    }

    void clear() {
        Arrays.fill(frames, 0, size, null);
        size = 0;
        index = null;
        poppedBottom = false;
    }
}

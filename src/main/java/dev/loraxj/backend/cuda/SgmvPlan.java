package dev.loraxj.backend.cuda;

import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.LinearModule;
import dev.loraxj.backend.StepBatch;

import java.util.Arrays;

/**
 * One step's SGMV arguments for every LoRA-targeted linear, built on the host from the batch: the
 * segments (runs of consecutive sequences that share an adapter; base rows are in none), and per
 * (layer, module) the segments whose adapter updates that linear, with their rows, ranks, scales and
 * matrix addresses, packed into one int and one long array that a single copy takes to the device.
 * Section {@code f} of linear {@code j} starts at {@code (j * fields + f) * capacity}.
 */
final class SgmvPlan {

    /** What the plan reads of an adapter slot: per linear its rank (0: untouched), scale and device addresses. */
    interface Adapter {
        int rank(int layer, LinearModule m);

        float scale(int layer, LinearModule m);

        long a(int layer, LinearModule m);

        long bt(int layer, LinearModule m);
    }

    static final int STARTS = 0;
    static final int ENDS = 1;
    static final int RANKS = 2;
    static final int SCALES = 3;
    static final int INT_FIELDS = 4;
    static final int A_PTRS = 0;
    static final int BT_PTRS = 1;
    static final int LONG_FIELDS = 2;
    private static final int MODULES = LinearModule.values().length;

    private int numSegs;
    private int[] segFrom = new int[8];
    private int[] segTo = new int[8];
    private Adapter[] segAdapter = new Adapter[8];
    private int capacity;
    private int[] ints = new int[0];
    private long[] longs = new long[0];
    private int[] count = new int[0];
    private int[] stride = new int[0];
    private int[] maxRows = new int[0];
    private long[] maxPairs = new long[0];

    /** Builds the plan of {@code b} for a model of {@code numLayers} layers; refuses slots of another backend and released ones. */
    void build(StepBatch b, int numLayers) {
        numSegs = 0;
        for (int s = 0; s < b.numSeqs(); s++) {
            AdapterSlot slot = b.adapter(s);
            if (slot == null || b.seqEnd(s) == b.seqStart(s)) {
                continue;
            }
            if (!(slot instanceof Adapter a)) {
                throw new IllegalArgumentException(slot + " was not registered with the CUDA backend");
            }
            if (slot.released()) {
                throw new IllegalStateException(slot + " was released but is still in a batch");
            }
            if (numSegs > 0 && segAdapter[numSegs - 1] == a && segTo[numSegs - 1] == b.seqStart(s)) {
                segTo[numSegs - 1] = b.seqEnd(s);
                continue;
            }
            if (numSegs == segFrom.length) {
                segFrom = Arrays.copyOf(segFrom, numSegs * 2);
                segTo = Arrays.copyOf(segTo, numSegs * 2);
                segAdapter = Arrays.copyOf(segAdapter, numSegs * 2);
            }
            segFrom[numSegs] = b.seqStart(s);
            segTo[numSegs] = b.seqEnd(s);
            segAdapter[numSegs] = a;
            numSegs++;
        }
        int linears = numLayers * MODULES;
        capacity = numSegs;
        if (ints.length < linears * INT_FIELDS * capacity) {
            ints = new int[linears * INT_FIELDS * capacity];
            longs = new long[linears * LONG_FIELDS * capacity];
        }
        if (count.length < linears) {
            count = new int[linears];
            stride = new int[linears];
            maxRows = new int[linears];
            maxPairs = new long[linears];
        }
        Arrays.fill(count, 0, linears, 0);
        Arrays.fill(stride, 0, linears, 0);
        Arrays.fill(maxRows, 0, linears, 0);
        Arrays.fill(maxPairs, 0, linears, 0);
        for (int l = 0; l < numLayers; l++) {
            for (LinearModule m : LinearModule.LORA_TARGETS) {
                int j = l * MODULES + m.ordinal();
                for (int g = 0; g < numSegs; g++) {
                    Adapter a = segAdapter[g];
                    int r = a.rank(l, m);
                    if (r == 0) {
                        continue;
                    }
                    int i = count[j]++;
                    int rows = segTo[g] - segFrom[g];
                    ints[(j * INT_FIELDS + STARTS) * capacity + i] = segFrom[g];
                    ints[(j * INT_FIELDS + ENDS) * capacity + i] = segTo[g];
                    ints[(j * INT_FIELDS + RANKS) * capacity + i] = r;
                    ints[(j * INT_FIELDS + SCALES) * capacity + i] = Float.floatToRawIntBits(a.scale(l, m));
                    longs[(j * LONG_FIELDS + A_PTRS) * capacity + i] = a.a(l, m);
                    longs[(j * LONG_FIELDS + BT_PTRS) * capacity + i] = a.bt(l, m);
                    stride[j] = Math.max(stride[j], r);
                    maxRows[j] = Math.max(maxRows[j], rows);
                    maxPairs[j] = Math.max(maxPairs[j], (long) rows * r);
                }
            }
        }
    }

    /** Whether any row of the step runs with an adapter. */
    boolean active() {
        return numSegs > 0;
    }

    int segments() {
        return numSegs;
    }

    private static int linear(int layer, LinearModule m) {
        return layer * MODULES + m.ordinal();
    }

    /** Segments whose adapter updates this linear. */
    int count(int layer, LinearModule m) {
        return count[linear(layer, m)];
    }

    /** The largest rank among them: the row stride of the shrunk values. */
    int stride(int layer, LinearModule m) {
        return stride[linear(layer, m)];
    }

    int maxRows(int layer, LinearModule m) {
        return maxRows[linear(layer, m)];
    }

    long maxPairs(int layer, LinearModule m) {
        return maxPairs[linear(layer, m)];
    }

    /** Index into {@link #ints()} where {@code field} of this linear starts. */
    int intIndex(int layer, LinearModule m, int field) {
        return (linear(layer, m) * INT_FIELDS + field) * capacity;
    }

    /** Index into {@link #longs()} where {@code field} of this linear starts. */
    int longIndex(int layer, LinearModule m, int field) {
        return (linear(layer, m) * LONG_FIELDS + field) * capacity;
    }

    int[] ints() {
        return ints;
    }

    long[] longs() {
        return longs;
    }

    /** Ints and longs in use for {@code numLayers} layers. */
    int intCount(int numLayers) {
        return numLayers * MODULES * INT_FIELDS * capacity;
    }

    int longCount(int numLayers) {
        return numLayers * MODULES * LONG_FIELDS * capacity;
    }
}

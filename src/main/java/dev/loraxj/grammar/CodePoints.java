package dev.loraxj.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * A set of Unicode scalar values as sorted, disjoint, non-adjacent ranges; compiles to UTF-8 bytes.
 * Surrogates are never members (they are not characters and have no UTF-8 form).
 */
final class CodePoints {

    static final int MAX = 0x10FFFF;
    static final CodePoints ALL = new CodePoints(new int[]{0, 0xD7FF, 0xE000, MAX});

    /** lo0, hi0, lo1, hi1, ... */
    private final int[] ranges;

    private CodePoints(int[] ranges) {
        this.ranges = ranges;
    }

    static CodePoints of(int c) {
        return range(c, c);
    }

    static CodePoints range(int lo, int hi) {
        return normalized(new int[]{lo, hi});
    }

    static CodePoints union(List<CodePoints> sets) {
        int n = 0;
        for (CodePoints s : sets) {
            n += s.ranges.length;
        }
        int[] all = new int[n];
        int at = 0;
        for (CodePoints s : sets) {
            System.arraycopy(s.ranges, 0, all, at, s.ranges.length);
            at += s.ranges.length;
        }
        return normalized(all);
    }

    CodePoints union(CodePoints other) {
        return union(List.of(this, other));
    }

    CodePoints complement() {
        List<Integer> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < ranges.length; i += 2) {
            if (ranges[i] > next) {
                out.add(next);
                out.add(ranges[i] - 1);
            }
            next = ranges[i + 1] + 1;
        }
        if (next <= MAX) {
            out.add(next);
            out.add(MAX);
        }
        return normalized(out.stream().mapToInt(Integer::intValue).toArray());
    }

    CodePoints minus(CodePoints other) {
        return union(List.of(complement(), other)).complement();
    }

    CodePoints intersect(CodePoints other) {
        return minus(other.complement());
    }

    boolean isEmpty() {
        return ranges.length == 0;
    }

    boolean contains(int c) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (c >= ranges[i] && c <= ranges[i + 1]) {
                return true;
            }
        }
        return false;
    }

    int rangeCount() {
        return ranges.length / 2;
    }

    int lo(int i) {
        return ranges[2 * i];
    }

    int hi(int i) {
        return ranges[2 * i + 1];
    }

    /** The set as UTF-8: an alternation of byte-range sequences, one per same-length, same-prefix block. */
    Rx utf8() {
        List<Rx> options = new ArrayList<>();
        for (int i = 0; i < ranges.length; i += 2) {
            split(ranges[i], ranges[i + 1], options);
        }
        return options.isEmpty() ? new Rx.Alt(List.of()) : Rx.alt(options);
    }

    private static final int[] LENGTH_ENDS = {0x7F, 0x7FF, 0xFFFF, MAX};

    /** Splits [lo, hi] until each block is a product of byte ranges (as RE2 and Rust's utf8-ranges do). */
    private static void split(int lo, int hi, List<Rx> out) {
        for (int end : LENGTH_ENDS) {
            if (lo <= end && hi > end) {
                split(lo, end, out);
                split(end + 1, hi, out);
                return;
            }
        }
        for (int i = 1; i < 4; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m)) {
                if ((lo & m) != 0) {
                    split(lo, lo | m, out);
                    split((lo | m) + 1, hi, out);
                    return;
                }
                if ((hi & m) != m) {
                    split(lo, (hi & ~m) - 1, out);
                    split(hi & ~m, hi, out);
                    return;
                }
            }
        }
        byte[] a = encode(lo);
        byte[] b = encode(hi);
        List<Rx> seq = new ArrayList<>(a.length);
        for (int k = 0; k < a.length; k++) {
            seq.add(new Rx.Bytes(a[k] & 0xff, b[k] & 0xff));
        }
        out.add(seq.size() == 1 ? seq.getFirst() : new Rx.Seq(seq));
    }

    private static byte[] encode(int c) {
        return new String(Character.toChars(c)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Sorts, clips to the scalar values (dropping surrogates) and merges overlapping or adjacent ranges. */
    private static CodePoints normalized(int[] raw) {
        int n = raw.length / 2;
        long[] packed = new long[n];
        for (int i = 0; i < n; i++) {
            packed[i] = ((long) Math.max(0, raw[2 * i]) << 32) | Math.min(MAX, raw[2 * i + 1]);
        }
        java.util.Arrays.sort(packed);
        List<Integer> out = new ArrayList<>();
        for (long p : packed) {
            int lo = (int) (p >>> 32);
            int hi = (int) p;
            if (lo > hi) {
                continue;
            }
            // cut the surrogate block out
            if (lo <= 0xDFFF && hi >= 0xD800) {
                if (lo < 0xD800) {
                    add(out, lo, 0xD7FF);
                }
                if (hi > 0xDFFF) {
                    add(out, 0xE000, hi);
                }
                continue;
            }
            add(out, lo, hi);
        }
        int[] r = new int[out.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = out.get(i);
        }
        return new CodePoints(r);
    }

    private static void add(List<Integer> out, int lo, int hi) {
        int n = out.size();
        if (n > 0 && lo <= out.get(n - 1) + 1) {
            if (hi > out.get(n - 1)) {
                out.set(n - 1, hi);
            }
            return;
        }
        out.add(lo);
        out.add(hi);
    }
}

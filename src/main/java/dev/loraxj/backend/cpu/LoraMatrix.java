package dev.loraxj.backend.cpu;

import dev.loraxj.model.DType;

/**
 * One adapter's low-rank update of one linear, ready for the kernels: {@code y += scale · (x Aᵀ) Bᵀ}
 * with A {@code [rank, in]} and Bᵀ {@code [rank, out]}, both row-major, so the shrink is a dot per rank
 * row and the expand a sum of scaled rows, each read as a sequential stream. The scale multiplies the
 * shrunk values, never the weights, so 16-bit weights stay exactly as the file holds them.
 */
sealed interface LoraMatrix {

    int rank();

    int in();

    int out();

    float scale();

    /** Element {@code (j, k)} of A, widened exactly (for checks; the kernels read the storage). */
    float a(int j, int k);

    /** Element {@code (j, c)} of Bᵀ, widened exactly. */
    float bt(int j, int c);

    /** Bytes held in memory, as the adapter store accounts them. */
    long bytes();

    /** The storage of weights read from a file of {@code dtype}: BF16 stays BF16, F16 and F32 become F32 (exact). */
    static DType storage(DType fileDtype) {
        return fileDtype == DType.BF16 ? DType.BF16 : DType.F32;
    }

    /** {@link #bytes()} of a matrix stored as {@code storage}, known before the weights are read. */
    static long bytes(DType storage, int rank, int in, int out) {
        return switch (storage) {
            case BF16 -> 4L * rank * (Bf16.rowInts(in) + Bf16.rowInts(out));
            case F32, F16 -> 4L * rank * (in + out);
            case I8, I4, I32, U4 -> throw new IllegalArgumentException("LoRA weights are kept in F32 or BF16, never " + storage.torchName());
        };
    }

    /** F32 weights: {@code a} is A, {@code bt} is Bᵀ, row-major. */
    record F32(int rank, int in, int out, float scale, float[] a, float[] bt) implements LoraMatrix {

        public F32 {
            if (rank <= 0 || a.length != rank * in || bt.length != rank * out) {
                throw new IllegalArgumentException("LoRA matrix sizes do not match rank " + rank + ", in " + in + ", out " + out);
            }
        }

        @Override
        public float a(int j, int k) {
            return a[j * in + k];
        }

        @Override
        public float bt(int j, int c) {
            return bt[j * out + c];
        }

        @Override
        public long bytes() {
            return 4L * (a.length + bt.length);
        }
    }

    /**
     * BF16 weights, exactly as the file holds them, each row of n elements packed into n/2 ints
     * (rounded up) so that one int load widens exactly to two float vectors without reordering the
     * input: per chunk of {@code 2·lanes} elements at k, int k/2 + i holds element k+i in its low half
     * and k+lanes+i in its high half; the last {@code n mod 2·lanes} elements go in pairs, the earlier
     * one low. {@code lanes} is the float lanes of the preferred vector species.
     */
    record Bf16(int rank, int in, int out, float scale, int lanes, int[] a, int[] bt) implements LoraMatrix {

        /** The float lanes {@link #pack} packs for. */
        public static final int LANES = Vec.L;

        public Bf16 {
            if (rank <= 0 || a.length != rank * rowInts(in) || bt.length != rank * rowInts(out)) {
                throw new IllegalArgumentException("LoRA matrix sizes do not match rank " + rank + ", in " + in + ", out " + out);
            }
        }

        /** Packs A {@code [rank, in]} and Bᵀ {@code [rank, out]}, given as raw BF16 bits, row-major. */
        public static Bf16 pack(int rank, int in, int out, float scale, short[] a, short[] bt) {
            if (a.length != rank * in || bt.length != rank * out) {
                throw new IllegalArgumentException("LoRA matrix sizes do not match rank " + rank + ", in " + in + ", out " + out);
            }
            return new Bf16(rank, in, out, scale, LANES, pack(a, rank, in), pack(bt, rank, out));
        }

        /** Ints per packed row of n elements. */
        public static int rowInts(int n) {
            return (n + 1) / 2;
        }

        @Override
        public float a(int j, int k) {
            return element(a, j * rowInts(in), k, in);
        }

        @Override
        public float bt(int j, int c) {
            return element(bt, j * rowInts(out), c, out);
        }

        @Override
        public long bytes() {
            return 4L * (a.length + bt.length);
        }

        private static int[] pack(short[] src, int rows, int n) {
            int l = LANES;
            int w = 2 * l;
            int end = n / w * w;
            int ints = rowInts(n);
            int[] dst = new int[rows * ints];
            for (int r = 0; r < rows; r++) {
                int s = r * n;
                int d = r * ints;
                for (int k = 0; k < end; k += w) {
                    for (int i = 0; i < l; i++) {
                        dst[d + k / 2 + i] = (src[s + k + i] & 0xFFFF) | src[s + k + l + i] << 16;
                    }
                }
                for (int k = end; k < n; k += 2) {
                    dst[d + k / 2] = (src[s + k] & 0xFFFF) | (k + 1 < n ? src[s + k + 1] << 16 : 0);
                }
            }
            return dst;
        }

        private float element(int[] p, int row, int k, int n) {
            int w = 2 * lanes;
            int end = n / w * w;
            int v;
            boolean high;
            if (k < end) {
                int i = k % w;
                v = p[row + k / w * lanes + i % lanes];
                high = i >= lanes;
            } else {
                v = p[row + k / 2];
                high = ((k - end) & 1) == 1;
            }
            return Float.intBitsToFloat(high ? v & 0xFFFF0000 : v << 16);
        }
    }
}

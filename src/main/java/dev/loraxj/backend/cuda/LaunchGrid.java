package dev.loraxj.backend.cuda;

/**
 * The launch shapes of the kernels in src/main/native, as each kernel's comment defines them: grid
 * (x, y, z) and threads per block. Pure arithmetic, so it is tested without a device.
 */
record LaunchGrid(int x, int y, int z, int threads) {

    /** gemv_bf16's rows per launch (its MAX_T). */
    static final int GEMV_ROWS = 8;
    /** gemv_bf16: one warp per output row, 8 warps a block. */
    static final int GEMV_THREADS = 256;
    /** gemm_bf16's block tile (BM = BN) and its 4 warps. */
    static final int GEMM_TILE = 64;
    static final int GEMM_THREADS = 128;
    /** sgmv_expand's rows per block (ROWS), columns per block, and the largest rank its shared memory holds. */
    static final int EXPAND_ROWS = 16;
    static final int EXPAND_THREADS = 128;
    static final int MAX_RANK = 128;
    static final int SHRINK_THREADS = 256;
    private static final int MAX_GRID_Y = 65535;

    LaunchGrid {
        if (x < 1 || y < 1 || z < 1 || threads < 1 || threads > 1024 || y > MAX_GRID_Y || z > MAX_GRID_Y) {
            throw new IllegalArgumentException("no such launch: grid (" + x + ", " + y + ", " + z + ") of " + threads + " threads");
        }
    }

    static int ceil(long n, int d) {
        return Math.toIntExact((n + d - 1) / d);
    }

    static LaunchGrid gemv(int out) {
        return new LaunchGrid(ceil(out, GEMV_THREADS / 32), 1, 1, GEMV_THREADS);
    }

    static LaunchGrid gemm(int m, int n) {
        return new LaunchGrid(ceil(n, GEMM_TILE), ceil(m, GEMM_TILE), 1, GEMM_THREADS);
    }

    /** Whether a linear over {@code rows} rows of width {@code in} goes to the tensor-core GEMM (else gemv, 8 rows a launch). */
    static boolean useGemm(int rows, int in) {
        return rows > GEMV_ROWS && in % 8 == 0; // cp.async moves 16-byte rows: K a multiple of 8
    }

    /** sgmv_shrink: one block column per segment, enough blocks down to give each (row, r) pair of the largest a warp. */
    static LaunchGrid shrink(int segments, long maxPairs) {
        int warps = SHRINK_THREADS / 32;
        return new LaunchGrid(segments, (int) Math.max(1, Math.min(MAX_GRID_Y, (maxPairs + warps - 1) / warps)), 1, SHRINK_THREADS);
    }

    /** sgmv_expand: segments, column blocks of {@code out}, chunks of the longest segment's rows. */
    static LaunchGrid expand(int segments, int out, int maxRows) {
        return new LaunchGrid(segments, ceil(out, EXPAND_THREADS), Math.max(1, ceil(maxRows, EXPAND_ROWS)), EXPAND_THREADS);
    }

    /** paged_attention: (tokens, kvHeads), one warp per query head of the group. */
    static LaunchGrid attention(int tokens, int heads, int kvHeads, int headDim) {
        if (heads % kvHeads != 0 || headDim > 256) {
            throw new IllegalArgumentException("paged_attention needs heads a multiple of kv heads and head_dim <= 256, got "
                    + heads + "/" + kvHeads + " heads of " + headDim);
        }
        return new LaunchGrid(tokens, kvHeads, 1, 32 * (heads / kvHeads));
    }

    /** One block per row, 256 threads (rmsnorm, gather_rows, embed_gather, kv_store, rope, argmax_rows). */
    static LaunchGrid rows(int rows) {
        return new LaunchGrid(rows, 1, 1, 256);
    }

    /** One thread per element, 256 a block. */
    static LaunchGrid elements(long n) {
        return new LaunchGrid(ceil(n, 256), 1, 1, 256);
    }
}

// The compute-bound linear for prefill and large decode batches: y[M, N] = x[M, K] W[N, K]^T with x and
// W bf16 (W row-major as the checkpoint holds it), y float32. Tensor cores through WMMA (mma.sync on
// sm_80/sm_90) on 16x16x16 bf16 fragments with float accumulators; a 64x64 block tile of 4 warps,
// each 32x32; K in steps of 32, staged into shared memory by cp.async, two stages so the next tile
// loads while this one multiplies. Edges load zeros (cp.async's src-size 0) and store under a guard.
// Needs K a multiple of 8 (16-byte rows); every Llama width is.
#include <cuda_bf16.h>
#include <mma.h>
#include <stdint.h>

using namespace nvcuda;

#define BM 64
#define BN 64
#define BK 32
#define PAD 8 // keeps rows 16-byte aligned and staggers shared-memory banks

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
    unsigned dst = (unsigned)__cvta_generic_to_shared(smem);
    int bytes = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(bytes));
}

__device__ __forceinline__ void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::);
}

__device__ __forceinline__ void cp_async_wait_one() {
    asm volatile("cp.async.wait_group 1;\n" ::);
}

__device__ __forceinline__ void cp_async_wait_all() {
    asm volatile("cp.async.wait_group 0;\n" ::);
}

extern "C" {

__global__ void __launch_bounds__(128) gemm_bf16(const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ w,
                                                 float* __restrict__ y, int m, int n, int k) {
    __shared__ __align__(128) __nv_bfloat16 xs[2][BM][BK + PAD];
    __shared__ __align__(128) __nv_bfloat16 ws[2][BN][BK + PAD];
    __shared__ __align__(128) float out[4][32 * 32];
    int row0 = blockIdx.y * BM;
    int col0 = blockIdx.x * BN;
    int warp = threadIdx.x >> 5;
    int wm = (warp >> 1) * 32; // the warp's 32x32 sub-tile
    int wn = (warp & 1) * 32;

    // each of the 128 threads moves 2 16-byte chunks of x's tile and 2 of W's per stage
    auto load = [&](int stage, int k0) {
        #pragma unroll
        for (int c = 0; c < 2; c++) {
            int chunk = threadIdx.x + c * 128; // 0..255: 64 rows x 4 chunks of 8
            int r = chunk >> 2;
            int kk = (chunk & 3) * 8;
            bool kin = k0 + kk < k;
            bool xin = row0 + r < m && kin;
            bool win = col0 + r < n && kin;
            cp_async16(&xs[stage][r][kk], x + (long long)(xin ? row0 + r : 0) * k + (kin ? k0 + kk : 0), xin);
            cp_async16(&ws[stage][r][kk], w + (long long)(win ? col0 + r : 0) * k + (kin ? k0 + kk : 0), win);
        }
        cp_async_commit();
    };

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
    #pragma unroll
    for (int i = 0; i < 2; i++) {
        #pragma unroll
        for (int j = 0; j < 2; j++) {
            wmma::fill_fragment(acc[i][j], 0.f);
        }
    }
    int tiles = (k + BK - 1) / BK;
    load(0, 0);
    for (int t = 0; t < tiles; t++) {
        int stage = t & 1;
        if (t + 1 < tiles) {
            load(stage ^ 1, (t + 1) * BK);
            cp_async_wait_one();
        } else {
            cp_async_wait_all();
        }
        __syncthreads();
        #pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b[2];
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                wmma::load_matrix_sync(a[i], &xs[stage][wm + i * 16][kk], BK + PAD);
                wmma::load_matrix_sync(b[i], &ws[stage][wn + i * 16][kk], BK + PAD); // W's rows are B's columns
            }
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                #pragma unroll
                for (int j = 0; j < 2; j++) {
                    wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
                }
            }
        }
        __syncthreads(); // this stage is overwritten by the load two tiles on
    }
    int lane = threadIdx.x & 31;
    #pragma unroll
    for (int i = 0; i < 2; i++) {
        #pragma unroll
        for (int j = 0; j < 2; j++) {
            wmma::store_matrix_sync(&out[warp][i * 16 * 32 + j * 16], acc[i][j], 32, wmma::mem_row_major);
        }
    }
    __syncwarp();
    for (int e = lane; e < 32 * 32; e += 32) {
        int r = row0 + wm + e / 32;
        int c = col0 + wn + e % 32;
        if (r < m && c < n) {
            y[(long long)r * n + c] = out[warp][e];
        }
    }
}

}

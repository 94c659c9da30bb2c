// Segmented LoRA (the CPU's LoraDelta, SGMV as Punica and LoRAX name it): after a linear ran once for
// the whole batch, each adapter's segment of rows gets y += scale * (x A^T) B^T, as a shrink then an
// expand, every adapter of the batch (mixed ranks, 1..128) in one launch each, base rows untouched.
// Weights are bf16 as the backend registered them: A [rank, in] as PEFT stores it, B transposed to
// B^T [rank, out] at registration so the expand reads it along its columns. Sums are float32.
#include <cuda_bf16.h>
#include <stdint.h>

extern "C" {

// Shrink: s[t, r] = scale_g * dot(x[t, :in], A_g[r, :in]) for each row t of segment g and r < rank_g.
// One warp per (row, r) pair: lanes read 8 bf16 (16 bytes) at a time along `in`, then a shuffle tree.
// grid.x = segments, grid.y strides the segment's (row, r) pairs; s has row stride `stride` (the max rank).
__global__ void sgmv_shrink(const __nv_bfloat16* __restrict__ x, float* __restrict__ s,
                            const int* __restrict__ seg_start, const int* __restrict__ seg_end,
                            const int* __restrict__ ranks, const uint64_t* __restrict__ a_ptrs,
                            const float* __restrict__ scales, int in, int stride) {
    int g = blockIdx.x;
    int rank = ranks[g];
    int first = seg_start[g];
    long long pairs = (long long)(seg_end[g] - first) * rank;
    const __nv_bfloat16* a = (const __nv_bfloat16*)a_ptrs[g];
    int warps = blockDim.x >> 5;
    int lane = threadIdx.x & 31;
    for (long long p = (long long)blockIdx.y * warps + (threadIdx.x >> 5); p < pairs; p += (long long)gridDim.y * warps) {
        int t = first + (int)(p / rank);
        int r = (int)(p % rank);
        const __nv_bfloat16* xr = x + (long long)t * in;
        const __nv_bfloat16* ar = a + (long long)r * in;
        float acc = 0.f;
        int vec = (in & 7) == 0 ? in : 0; // 16-byte loads need rows of whole 8-element chunks
        for (int k = lane * 8; k < vec; k += 256) {
            uint4 xv = *(const uint4*)(xr + k);
            uint4 av = *(const uint4*)(ar + k);
            const __nv_bfloat162* xp = (const __nv_bfloat162*)&xv;
            const __nv_bfloat162* ap = (const __nv_bfloat162*)&av;
            #pragma unroll
            for (int i = 0; i < 4; i++) {
                float2 xf = __bfloat1622float2(xp[i]);
                float2 af = __bfloat1622float2(ap[i]);
                acc = fmaf(xf.x, af.x, acc);
                acc = fmaf(xf.y, af.y, acc);
            }
        }
        for (int k = vec + lane; k < in; k += 32) {
            acc = fmaf(__bfloat162float(xr[k]), __bfloat162float(ar[k]), acc);
        }
        for (int d = 16; d > 0; d >>= 1) {
            acc += __shfl_xor_sync(0xffffffffu, acc, d);
        }
        if (lane == 0) {
            s[(long long)t * stride + r] = scales[g] * acc;
        }
    }
}

// Expand: y[t * ldy + c] += sum_r s[t, r] * B^T_g[r, c], r in order, c < out. One thread per column c;
// the block stages its rows' shrunk values in shared memory. grid.x = segments, grid.y = column
// blocks, grid.z = chunks of ROWS rows of the segment. ldy (>= out) lets one linear's columns sit inside
// a fused output (gate and up share one [T, 2 * inter] matrix).
#define ROWS 16
__global__ void sgmv_expand(const float* __restrict__ s, float* __restrict__ y,
                            const int* __restrict__ seg_start, const int* __restrict__ seg_end,
                            const int* __restrict__ ranks, const uint64_t* __restrict__ bt_ptrs,
                            int out, int ldy, int stride) {
    __shared__ float shrunk[ROWS * 128];
    int g = blockIdx.x;
    int rank = ranks[g];
    int first = seg_start[g] + blockIdx.z * ROWS;
    int rows = min(ROWS, seg_end[g] - first);
    if (rows <= 0) {
        return;
    }
    for (int i = threadIdx.x; i < rows * rank; i += blockDim.x) {
        shrunk[i] = s[(long long)(first + i / rank) * stride + i % rank];
    }
    __syncthreads();
    int c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c >= out) {
        return;
    }
    const __nv_bfloat16* bt = (const __nv_bfloat16*)bt_ptrs[g];
    float acc[ROWS];
    #pragma unroll
    for (int j = 0; j < ROWS; j++) {
        acc[j] = 0.f;
    }
    for (int r = 0; r < rank; r++) {
        float b = __bfloat162float(bt[(long long)r * out + c]);
        #pragma unroll
        for (int j = 0; j < ROWS; j++) {
            acc[j] = fmaf(shrunk[j * rank + r], b, acc[j]);
        }
    }
    for (int j = 0; j < rows; j++) {
        y[(long long)(first + j) * ldy + c] += acc[j];
    }
}

}

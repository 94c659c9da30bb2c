// The bandwidth-bound linear for small decode batches (the CPU's Matmul at few rows): y[t, :] = W x[t]
// for up to MAX_T rows, W [out, in] bf16 row-major as the checkpoint holds it, x bf16, y float32.
// Batch-1 decode streams every weight once per token, so this kernel is shaped for one read of W:
// one warp per output row reads it in 16-byte chunks, each lane keeping MAX_T accumulators, and x
// (a few kB, read by every warp) stays in L1/L2. Larger batches go to the tensor-core GEMM.
#include <cuda_bf16.h>
#include <stdint.h>

extern "C" {

#define MAX_T 8
__global__ void gemv_bf16(const __nv_bfloat16* __restrict__ w, const __nv_bfloat16* __restrict__ x,
                          float* __restrict__ y, int in, int out, int rows) {
    int warps = blockDim.x >> 5;
    int o = blockIdx.x * warps + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (o >= out) {
        return;
    }
    const __nv_bfloat16* wr = w + (long long)o * in;
    float acc[MAX_T];
    #pragma unroll
    for (int t = 0; t < MAX_T; t++) {
        acc[t] = 0.f;
    }
    int vec = (in & 7) == 0 ? in : 0; // 16-byte loads need rows of whole 8-element chunks
    for (int k = lane * 8; k < vec; k += 256) {
        uint4 wv = __ldg((const uint4*)(wr + k));
        const __nv_bfloat162* wp = (const __nv_bfloat162*)&wv;
        float2 wf[4];
        #pragma unroll
        for (int i = 0; i < 4; i++) {
            wf[i] = __bfloat1622float2(wp[i]);
        }
        #pragma unroll
        for (int t = 0; t < MAX_T; t++) {
            if (t < rows) {
                uint4 xv = *(const uint4*)(x + (long long)t * in + k);
                const __nv_bfloat162* xp = (const __nv_bfloat162*)&xv;
                #pragma unroll
                for (int i = 0; i < 4; i++) {
                    float2 xf = __bfloat1622float2(xp[i]);
                    acc[t] = fmaf(wf[i].x, xf.x, acc[t]);
                    acc[t] = fmaf(wf[i].y, xf.y, acc[t]);
                }
            }
        }
    }
    for (int k = vec + lane; k < in; k += 32) {
        float wk = __bfloat162float(wr[k]);
        for (int t = 0; t < rows; t++) {
            acc[t] = fmaf(wk, __bfloat162float(x[(long long)t * in + k]), acc[t]);
        }
    }
    #pragma unroll
    for (int t = 0; t < MAX_T; t++) {
        float a = acc[t];
        for (int d = 16; d > 0; d >>= 1) {
            a += __shfl_xor_sync(0xffffffffu, a, d);
        }
        if (lane == 0 && t < rows) {
            y[(long long)t * out + o] = a;
        }
    }
}

}

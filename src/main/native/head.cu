// What follows the last block: the rows that need logits, the Medusa ResBlocks, and greedy picks on
// the device, so only the rows asked for (or only their argmax) cross to the host.
#include <cuda_bf16.h>

extern "C" {

// Copies the rows the step wants logits for (StepBatch.logitRow) into a dense [rows, hidden] matrix.
__global__ void gather_rows(const __nv_bfloat16* __restrict__ x, const int* __restrict__ rows,
                            __nv_bfloat16* __restrict__ out, int hidden) {
    const __nv_bfloat16* src = x + (long long)rows[blockIdx.x] * hidden;
    __nv_bfloat16* dst = out + (long long)blockIdx.x * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        dst[i] = src[i];
    }
}

// A Medusa ResBlock's tail (MedusaKernel): h = x + SiLU(y + b), y = W0 x from the linear, in float32.
__global__ void medusa_residual(const float* __restrict__ x, const float* __restrict__ y, const float* __restrict__ bias,
                                float* __restrict__ h, int hidden, int rows) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)rows * hidden) {
        return;
    }
    float z = y[i] + bias[i % hidden];
    h[i] = x[i] + z / (1.f + expf(-z));
}

// Greedy pick per row: the largest logit, the lowest index among equals (as the CPU sampler's argmax).
// One block of 256 threads per row; each thread scans a strided share, then a shared-memory tree.
__global__ void argmax_rows(const float* __restrict__ logits, int* __restrict__ out, int vocab) {
    __shared__ float best[256];
    __shared__ int at[256];
    const float* row = logits + (long long)blockIdx.x * vocab;
    float b = -INFINITY;
    int a = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        float v = row[i];
        if (v > b || (v == b && i < a)) {
            b = v;
            a = i;
        }
    }
    best[threadIdx.x] = b;
    at[threadIdx.x] = a;
    __syncthreads();
    for (int s = blockDim.x >> 1; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            float ob = best[threadIdx.x + s];
            int oa = at[threadIdx.x + s];
            if (ob > best[threadIdx.x] || (ob == best[threadIdx.x] && oa < at[threadIdx.x])) {
                best[threadIdx.x] = ob;
                at[threadIdx.x] = oa;
            }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        out[blockIdx.x] = at[0];
    }
}

}

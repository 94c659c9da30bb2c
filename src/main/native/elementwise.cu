// The per-token kernels of a Llama block on the device. Activations (the residual stream, q, k, the
// gate and up projections) are float32, as the CPU backend keeps them; weights and what feeds a
// GEMM are bf16. Each mirrors a CPU class exactly in order of operations, named beside it.
#include <cuda_bf16.h>

extern "C" {

// Embedding gather (LlamaWeights' embedding row, widened): one block per token, threads stride the row.
__global__ void embed_gather(const __nv_bfloat16* __restrict__ table, const int* __restrict__ tokens,
                             float* __restrict__ out, int hidden) {
    const __nv_bfloat16* row = table + (long long)tokens[blockIdx.x] * hidden;
    float* o = out + (long long)blockIdx.x * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        o[i] = __bfloat162float(row[i]);
    }
}

// RMSNorm (RmsNorm.apply): w * (x * rsqrt(mean(x^2) + eps)), the scale taken in double as the CPU does.
// One block per row; a block-wide tree sum of squares, then each thread writes its strided elements.
__global__ void rmsnorm(const float* __restrict__ x, const __nv_bfloat16* __restrict__ weight,
                        __nv_bfloat16* __restrict__ out, int hidden, float eps) {
    __shared__ float partial[32];
    const float* r = x + (long long)blockIdx.x * hidden;
    float ss = 0.f;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        ss = fmaf(r[i], r[i], ss);
    }
    for (int d = 16; d > 0; d >>= 1) {
        ss += __shfl_xor_sync(0xffffffffu, ss, d);
    }
    int warp = threadIdx.x >> 5;
    int lane = threadIdx.x & 31;
    if (lane == 0) {
        partial[warp] = ss;
    }
    __syncthreads();
    if (warp == 0) {
        int warps = (blockDim.x + 31) >> 5;
        ss = lane < warps ? partial[lane] : 0.f;
        for (int d = 16; d > 0; d >>= 1) {
            ss += __shfl_xor_sync(0xffffffffu, ss, d);
        }
        if (lane == 0) {
            partial[0] = (float)(1.0 / sqrt((double)(ss / hidden + eps)));
        }
    }
    __syncthreads();
    float inv = partial[0];
    __nv_bfloat16* o = out + (long long)blockIdx.x * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        o[i] = __float2bfloat16_rn((r[i] * inv) * __bfloat162float(weight[i]));
    }
}

// Residual add (the block's x += attention / MLP output), in place over n floats.
__global__ void residual_add(float* __restrict__ x, const float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        x[i] += y[i];
    }
}

// SiLU(gate) * up (GatedSilu), rows of [gate | up] each `inter` wide, to bf16 for the down projection.
__global__ void silu_mul(const float* __restrict__ gate_up, __nv_bfloat16* __restrict__ out, int inter, int rows) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)rows * inter) {
        return;
    }
    long long r = i / inter;
    int c = (int)(i - r * inter);
    float g = gate_up[r * 2 * inter + c];
    float u = gate_up[r * 2 * inter + inter + c];
    out[i] = __float2bfloat16_rn(g / (1.f + expf(-g)) * u);
}

// RoPE in HF's rotate-half layout (Rope.prepare/rotate), in place over q [T, heads, dim] and
// k [T, kvHeads, dim]: angle = position * invFreq[i] in float, its cos and sin in double as the CPU's
// StrictMath. One block per token; threads stride (head, i) over q's heads then k's.
__global__ void rope(float* __restrict__ q, float* __restrict__ k, const int* __restrict__ positions,
                     const float* __restrict__ inv_freq, int heads, int kv_heads, int head_dim) {
    int half = head_dim >> 1;
    int t = blockIdx.x;
    float p = (float)positions[t];
    int pairs = (heads + kv_heads) * half;
    for (int j = threadIdx.x; j < pairs; j += blockDim.x) {
        int h = j / half;
        int i = j - h * half;
        float* base = h < heads ? q + ((long long)t * heads + h) * head_dim
                                : k + ((long long)t * kv_heads + (h - heads)) * head_dim;
        double angle = (double)(p * inv_freq[i]);
        float c = (float)cos(angle);
        float s = (float)sin(angle);
        float x1 = base[i];
        float x2 = base[i + half];
        base[i] = x1 * c - x2 * s;
        base[i + half] = x2 * c + x1 * s;
    }
}

// Float32 to bf16, rounding to nearest even (the Medusa ResBlocks' state before its next linear).
__global__ void f32_to_bf16(const float* __restrict__ x, __nv_bfloat16* __restrict__ out, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        out[i] = __float2bfloat16_rn(x[i]);
    }
}

// Fills n bf16 values with offset + scale * u, u uniform in [-1, 1) from a hash of (seed, index), so a
// benchmark model of any size is made on the device without crossing PCIe, the same for a seed everywhere.
__global__ void fill_random_bf16(__nv_bfloat16* __restrict__ out, long long n, unsigned int seed, float scale, float offset) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    unsigned long long z = (unsigned long long)i + 0x9E3779B97F4A7C15ull * ((unsigned long long)seed + 1ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull; // splitmix64's finalizer
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    float u = (float)(z >> 40) * (1.0f / 8388608.0f) - 1.0f; // 24 bits to [-1, 1)
    out[i] = __float2bfloat16_rn(offset + scale * u);
}

}

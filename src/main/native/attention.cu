// Attention over the paged KV cache (the CPU's Attention and KvCache), bf16 cache, float32 math.
// The cache of a layer holds K and V each as [block][slot][kvHead][headDim], so a token's head is
// one contiguous row. Token t of the batch belongs to sequence token_seq[t], sits at positions[t],
// and attends causally to positions 0..positions[t] of its own sequence through its block table
// (tables[seq * max_blocks + i]).
#include <cuda_bf16.h>

extern "C" {

// Writes each token's k and v (float32, after RoPE) into its cache slot as bf16, rounding to nearest
// even as KvCache.toBf16. One block per token; threads stride the kvHeads * headDim values.
__global__ void kv_store(const float* __restrict__ k, const float* __restrict__ v,
                         __nv_bfloat16* __restrict__ k_cache, __nv_bfloat16* __restrict__ v_cache,
                         const int* __restrict__ token_seq, const int* __restrict__ positions,
                         const int* __restrict__ tables, int max_blocks, int block_size, int kv_dim) {
    int t = blockIdx.x;
    int pos = positions[t];
    int block = tables[token_seq[t] * max_blocks + pos / block_size];
    long long at = ((long long)block * block_size + pos % block_size) * kv_dim;
    for (int i = threadIdx.x; i < kv_dim; i += blockDim.x) {
        k_cache[at + i] = __float2bfloat16_rn(k[(long long)t * kv_dim + i]);
        v_cache[at + i] = __float2bfloat16_rn(v[(long long)t * kv_dim + i]);
    }
}

// One warp per query head, the block one KV head's group of query heads (GQA), the grid
// (tokens, kvHeads). Each lane holds HD/32 dimensions of q and of the output; per cached position,
// the q.k dot is a shuffle tree, and softmax runs online (running max and sum), so one pass over
// the cache suffices. Any head_dim up to 256 (MAX_PER_LANE = 8); lanes past head_dim hold zeros.
#define MAX_PER_LANE 8
__global__ void paged_attention(const float* __restrict__ q, __nv_bfloat16* __restrict__ out,
                                const __nv_bfloat16* __restrict__ k_cache, const __nv_bfloat16* __restrict__ v_cache,
                                const int* __restrict__ token_seq, const int* __restrict__ positions,
                                const int* __restrict__ tables, int max_blocks, int block_size,
                                int heads, int kv_heads, int head_dim, float scale) {
    int t = blockIdx.x;
    int kvh = blockIdx.y;
    int group = heads / kv_heads;
    int h = kvh * group + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    const int* table = tables + (long long)token_seq[t] * max_blocks;
    const float* qh = q + ((long long)t * heads + h) * head_dim;
    float qr[MAX_PER_LANE];
    float acc[MAX_PER_LANE];
    #pragma unroll
    for (int i = 0; i < MAX_PER_LANE; i++) {
        qr[i] = i * 32 + lane < head_dim ? qh[i * 32 + lane] * scale : 0.f;
        acc[i] = 0.f;
    }
    float max = -INFINITY;
    float sum = 0.f;
    int last = positions[t];
    int kv_dim = kv_heads * head_dim;
    for (int p = 0; p <= last; p++) {
        long long row = ((long long)table[p / block_size] * block_size + p % block_size) * kv_dim + (long long)kvh * head_dim;
        float dot = 0.f;
        #pragma unroll
        for (int i = 0; i < MAX_PER_LANE; i++) {
            if (i * 32 + lane < head_dim) {
                dot = fmaf(qr[i], __bfloat162float(k_cache[row + i * 32 + lane]), dot);
            }
        }
        for (int d = 16; d > 0; d >>= 1) {
            dot += __shfl_xor_sync(0xffffffffu, dot, d);
        }
        float m = fmaxf(max, dot);
        float correction = expf(max - m); // 0 on the first position, where max is -inf
        float w = expf(dot - m);
        sum = sum * correction + w;
        #pragma unroll
        for (int i = 0; i < MAX_PER_LANE; i++) {
            if (i * 32 + lane < head_dim) {
                acc[i] = fmaf(w, __bfloat162float(v_cache[row + i * 32 + lane]), acc[i] * correction);
            }
        }
        max = m;
    }
    __nv_bfloat16* oh = out + ((long long)t * heads + h) * head_dim;
    float inv = 1.f / sum;
    #pragma unroll
    for (int i = 0; i < MAX_PER_LANE; i++) {
        if (i * 32 + lane < head_dim) {
            oh[i * 32 + lane] = __float2bfloat16_rn(acc[i] * inv);
        }
    }
}

}

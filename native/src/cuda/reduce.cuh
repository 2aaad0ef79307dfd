// Warp reductions (butterfly shuffles: every lane ends with the result) and the online-softmax
// pair (running max, running sum of exp(x - max)) that softmax, cross-entropy and attention merge.
#pragma once

#include "dk_cuda_rt.h"

#include <math.h>

constexpr unsigned DK_FULL_MASK = 0xffffffffu;

__device__ __forceinline__ float dk_warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(DK_FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float dk_warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(DK_FULL_MASK, v, o));
    return v;
}

struct DkMaxSum {
    float m; // running max (-inf: nothing seen)
    float s; // sum of exp(x - m)
};

__device__ __forceinline__ DkMaxSum dk_maxsum_add(DkMaxSum a, float x) {
    if (x > a.m) return {x, a.s * expf(a.m - x) + 1.0f}; // expf(-inf) = 0 for the first element
    return {a.m, a.s + expf(x - a.m)};
}

__device__ __forceinline__ DkMaxSum dk_maxsum_merge(DkMaxSum a, DkMaxSum b) {
    const float m = fmaxf(a.m, b.m);
    if (m == -INFINITY) return {m, 0.0f};
    return {m, (a.m == -INFINITY ? 0.0f : a.s * expf(a.m - m)) + (b.m == -INFINITY ? 0.0f : b.s * expf(b.m - m))};
}

__device__ __forceinline__ DkMaxSum dk_warp_maxsum(DkMaxSum v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const DkMaxSum other{__shfl_xor_sync(DK_FULL_MASK, v.m, o), __shfl_xor_sync(DK_FULL_MASK, v.s, o)};
        v = dk_maxsum_merge(v, other);
    }
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// Contains two barriers: every thread of the block must call it.
__device__ __forceinline__ float dk_block_sum(float v) {
    DK_SHARED(float, partial, [32]);
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = dk_warp_sum(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    float total = 0.0f;
    for (int w = 0; w < warps; ++w) total += partial[w]; // broadcast reads, the same order everywhere
    __syncthreads();                                       // partial may be reused by the next call
    return total;
}

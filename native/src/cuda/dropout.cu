// The inverted-dropout mask of dk_dropout_mask: element i is 0 with probability p, else
// 1 / (1 - p), from the same splitmix64 draw as every other backend. Grid-stride, write-only.
#include "../core/dropout_draw.h"
#include "dk_cuda_rt.h"

namespace {

constexpr int THREADS = 256;

__global__ __launch_bounds__(THREADS) void dropout_mask_kernel(float *mask, int64_t n, float p, uint64_t seed) {
    const float keep = 1.0f / (1.0f - p);
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        mask[i] = dk::dropout_uniform(seed, static_cast<uint64_t>(i)) < p ? 0.0f : keep;
}

} // namespace

extern "C" int dkc_dropout_mask(float *mask, int64_t n, float p, uint64_t seed, dkc_stream stream) {
    DKC_REQUIRE(n >= 0, "dropout: n (%lld) must be >= 0", (long long)n);
    DKC_REQUIRE(p >= 0.0f && p < 1.0f, "dropout: p (%g) must be in [0, 1)", p);
    if (n == 0) return DK_OK;
    DKC_NOT_NULL(mask);
    const int64_t blocks = (n + THREADS - 1) / THREADS;
    DK_LAUNCH(dropout_mask_kernel, dim3(static_cast<unsigned>(blocks < 65536 ? blocks : 65536)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), mask, n, p, seed);
    return dkc::launched("dropout_mask_kernel");
}

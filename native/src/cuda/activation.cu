// Activations, forward and backward: elementwise, grid-stride loops (consecutive threads touch
// consecutive floats: fully coalesced, bandwidth-bound: 8 bytes/element forward, 12 backward).
#include "activation.cuh"
#include "dk_cuda_rt.h"

namespace {

constexpr int THREADS = 256;

__global__ __launch_bounds__(THREADS) void activation_forward_kernel(int act, float alpha, float *y, const float *x,
                                                                      int64_t n) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        y[i] = dk_act_forward(act, x[i], alpha);
}

__global__ __launch_bounds__(THREADS) void activation_backward_kernel(int act, float alpha, float *dx, const float *dy,
                                                                       const float *x, int64_t n) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        dx[i] = dy[i] * dk_act_derivative(act, x[i], alpha);
}

// Enough blocks to fill any current GPU several times over; the loops cover the rest.
unsigned grid_for(int64_t n) {
    const int64_t blocks = (n + THREADS - 1) / THREADS;
    return static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
}

} // namespace

extern "C" int dkc_activation_forward(int32_t act, float alpha, float *y, const float *x, int64_t n,
                                      dkc_stream stream) {
    DKC_REQUIRE(act >= DKC_ACT_NONE && act <= DKC_ACT_RSQRT, "activation: act (%d) is not a dkc_act", act);
    DKC_REQUIRE(n >= 0, "activation: n (%lld) must be >= 0", (long long)n);
    if (n == 0) return DK_OK;
    DKC_NOT_NULL(y);
    DKC_NOT_NULL(x);
    DK_LAUNCH(activation_forward_kernel, dim3(grid_for(n)), dim3(THREADS), 0, static_cast<cudaStream_t>(stream), act,
              alpha, y, x, n);
    return dkc::launched("activation_forward_kernel");
}

extern "C" int dkc_activation_backward(int32_t act, float alpha, float *dx, const float *dy, const float *x,
                                       int64_t n, dkc_stream stream) {
    DKC_REQUIRE(act >= DKC_ACT_NONE && act <= DKC_ACT_RSQRT, "activation: act (%d) is not a dkc_act", act);
    DKC_REQUIRE(n >= 0, "activation: n (%lld) must be >= 0", (long long)n);
    if (n == 0) return DK_OK;
    DKC_NOT_NULL(dx);
    DKC_NOT_NULL(dy);
    DKC_NOT_NULL(x);
    DK_LAUNCH(activation_backward_kernel, dim3(grid_for(n)), dim3(THREADS), 0, static_cast<cudaStream_t>(stream), act,
              alpha, dx, dy, x, n);
    return dkc::launched("activation_backward_kernel");
}

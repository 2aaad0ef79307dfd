// Fused optimizer steps: one pass over param, grad and the state (AdamW: 5 floats read/written
// per element, 20 bytes, at memory bandwidth), grid-stride loops, in place.
#include "dk_cuda_rt.h"

#include <cmath>
#include <math.h>

namespace {

constexpr int THREADS = 256;

__global__ __launch_bounds__(THREADS) void adamw_kernel(float *param, float *m, float *v, const float *grad, int64_t n,
                                                        float lr, float beta1, float beta2, float eps,
                                                        float weight_decay, float bc1, float bc2) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float g = grad[i];
        const float mi = beta1 * m[i] + (1.0f - beta1) * g;
        const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        const float p = param[i];
        param[i] = p - lr * ((mi / bc1) / (sqrtf(vi / bc2) + eps) + weight_decay * p);
    }
}

__global__ __launch_bounds__(THREADS) void sgd_kernel(float *param, float *buf, const float *grad, int64_t n, float lr,
                                                      float momentum, float weight_decay) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        float g = grad[i] + weight_decay * param[i];
        if (buf) {
            g = momentum * buf[i] + g;
            buf[i] = g;
        }
        param[i] -= lr * g;
    }
}

unsigned grid_for(int64_t n) {
    const int64_t blocks = (n + THREADS - 1) / THREADS;
    return static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
}

} // namespace

extern "C" int dkc_adamw_step(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                              float beta2, float eps, float weight_decay, int64_t step, dkc_stream stream) {
    DKC_REQUIRE(n >= 0, "adamw: n (%lld) must be >= 0", (long long)n);
    DKC_REQUIRE(step >= 1, "adamw: step (%lld) must be >= 1 (the first step is 1)", (long long)step);
    DKC_REQUIRE(beta1 >= 0.0f && beta1 < 1.0f, "adamw: beta1 (%g) must be in [0, 1)", beta1);
    DKC_REQUIRE(beta2 >= 0.0f && beta2 < 1.0f, "adamw: beta2 (%g) must be in [0, 1)", beta2);
    DKC_REQUIRE(eps > 0.0f, "adamw: eps (%g) must be > 0", eps);
    DKC_REQUIRE(lr >= 0.0f && weight_decay >= 0.0f, "adamw: lr (%g) and weight_decay (%g) must be >= 0", lr,
                weight_decay);
    if (n == 0) return DK_OK;
    DKC_NOT_NULL(param);
    DKC_NOT_NULL(m);
    DKC_NOT_NULL(v);
    DKC_NOT_NULL(grad);
    const float bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step)));
    const float bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step)));
    DK_LAUNCH(adamw_kernel, dim3(grid_for(n)), dim3(THREADS), 0, static_cast<cudaStream_t>(stream), param, m, v, grad,
              n, lr, beta1, beta2, eps, weight_decay, bc1, bc2);
    return dkc::launched("adamw_kernel");
}

extern "C" int dkc_sgd_step(float *param, float *momentum_buf, const float *grad, int64_t n, float lr, float momentum,
                            float weight_decay, dkc_stream stream) {
    DKC_REQUIRE(n >= 0, "sgd: n (%lld) must be >= 0", (long long)n);
    DKC_REQUIRE(momentum >= 0.0f, "sgd: momentum (%g) must be >= 0", momentum);
    DKC_REQUIRE(momentum == 0.0f || momentum_buf, "sgd: momentum_buf must not be null when momentum (%g) != 0",
                momentum);
    DKC_REQUIRE(lr >= 0.0f && weight_decay >= 0.0f, "sgd: lr (%g) and weight_decay (%g) must be >= 0", lr,
                weight_decay);
    if (n == 0) return DK_OK;
    DKC_NOT_NULL(param);
    DKC_NOT_NULL(grad);
    DK_LAUNCH(sgd_kernel, dim3(grid_for(n)), dim3(THREADS), 0, static_cast<cudaStream_t>(stream), param,
              momentum == 0.0f ? nullptr : momentum_buf, grad, n, lr, momentum, weight_decay);
    return dkc::launched("sgd_kernel");
}

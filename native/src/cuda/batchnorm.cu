// Batch norm over NCHW in training mode, forward and backward. One block per channel (256
// threads): the channel's N x HW values are N rows of HW contiguous floats, read with
// consecutive threads on consecutive hw (coalesced), reduced with warp shuffles and one shared
// array (dk_block_sum). Forward reads x three times (mean, centered variance, output) and
// backward twice; the reads after the first come from L2 for channels of up to a few MiB.
#include "dk_cuda_rt.h"
#include "reduce.cuh"

namespace {

constexpr int THREADS = 256;

__global__ __launch_bounds__(THREADS) void batchnorm_forward_kernel(float *y, float *mean, float *rstd,
                                                                     float *running_mean, float *running_var,
                                                                     const float *x, const float *gamma,
                                                                     const float *beta, int64_t n, int64_t c,
                                                                     int64_t hw, float eps, float momentum) {
    const int64_t ch = blockIdx.x, count = n * hw;
    float s = 0.0f;
    for (int64_t b = 0; b < n; ++b)
        for (int64_t i = threadIdx.x; i < hw; i += THREADS) s += x[(b * c + ch) * hw + i];
    const float mu = dk_block_sum(s) / static_cast<float>(count);
    float v = 0.0f;
    for (int64_t b = 0; b < n; ++b)
        for (int64_t i = threadIdx.x; i < hw; i += THREADS) {
            const float d = x[(b * c + ch) * hw + i] - mu;
            v += d * d;
        }
    const float var = dk_block_sum(v) / static_cast<float>(count);
    const float r = rsqrtf(var + eps), g = gamma[ch] * r, sh = beta[ch] - mu * g;
    for (int64_t b = 0; b < n; ++b)
        for (int64_t i = threadIdx.x; i < hw; i += THREADS) {
            const int64_t at = (b * c + ch) * hw + i;
            y[at] = x[at] * g + sh;
        }
    if (threadIdx.x == 0) {
        mean[ch] = mu;
        rstd[ch] = r;
        if (running_mean) {
            const float unbiased = count > 1 ? var * static_cast<float>(count) / static_cast<float>(count - 1) : var;
            running_mean[ch] = (1.0f - momentum) * running_mean[ch] + momentum * mu;
            running_var[ch] = (1.0f - momentum) * running_var[ch] + momentum * unbiased;
        }
    }
}

__global__ __launch_bounds__(THREADS) void batchnorm_backward_kernel(float *dx, float *dgamma, float *dbeta,
                                                                      const float *dy, const float *x,
                                                                      const float *mean, const float *rstd,
                                                                      const float *gamma, int64_t n, int64_t c,
                                                                      int64_t hw) {
    const int64_t ch = blockIdx.x, count = n * hw;
    const float mu = mean[ch], r = rstd[ch];
    float sdy = 0.0f, sdyx = 0.0f;
    for (int64_t b = 0; b < n; ++b)
        for (int64_t i = threadIdx.x; i < hw; i += THREADS) {
            const int64_t at = (b * c + ch) * hw + i;
            sdy += dy[at];
            sdyx += dy[at] * (x[at] - mu) * r;
        }
    sdy = dk_block_sum(sdy);
    sdyx = dk_block_sum(sdyx);
    const float k = gamma[ch] * r / static_cast<float>(count);
    for (int64_t b = 0; b < n; ++b)
        for (int64_t i = threadIdx.x; i < hw; i += THREADS) {
            const int64_t at = (b * c + ch) * hw + i;
            const float xhat = (x[at] - mu) * r;
            dx[at] = k * (static_cast<float>(count) * dy[at] - sdy - xhat * sdyx);
        }
    if (threadIdx.x == 0) dgamma[ch] = sdyx, dbeta[ch] = sdy;
}

// Inference: a per-channel affine map with the running statistics; one block per channel.
__global__ __launch_bounds__(THREADS) void batchnorm_inference_kernel(float *y, const float *x, const float *gamma,
                                                                       const float *beta, const float *running_mean,
                                                                       const float *running_var, int64_t n, int64_t c,
                                                                       int64_t hw, float eps) {
    const int64_t ch = blockIdx.x;
    const float scale = gamma[ch] / sqrtf(running_var[ch] + eps), shift = beta[ch] - running_mean[ch] * scale;
    for (int64_t b = 0; b < n; ++b)
        for (int64_t i = threadIdx.x; i < hw; i += THREADS) {
            const int64_t at = (b * c + ch) * hw + i;
            y[at] = x[at] * scale + shift;
        }
}

int check(int64_t n, int64_t c, int64_t hw, const char *op) {
    DKC_REQUIRE(n >= 1, "%s: n (%lld) must be >= 1", op, (long long)n);
    DKC_REQUIRE(c >= 1 && c <= 0x7fffffff, "%s: c (%lld) must be in [1, 2^31)", op, (long long)c);
    DKC_REQUIRE(hw >= 1, "%s: hw (%lld) must be >= 1", op, (long long)hw);
    return DK_OK;
}

} // namespace

extern "C" int dkc_batchnorm_forward(float *y, float *mean, float *rstd, float *running_mean, float *running_var,
                                     const float *x, const float *gamma, const float *beta, int64_t n, int64_t c,
                                     int64_t hw, float eps, float momentum, dkc_stream stream) {
    if (int s = check(n, c, hw, "batchnorm")) return s;
    DKC_REQUIRE(eps > 0.0f, "batchnorm: eps (%g) must be > 0", eps);
    DKC_REQUIRE(momentum >= 0.0f && momentum <= 1.0f, "batchnorm: momentum (%g) must be in [0, 1]", momentum);
    DKC_REQUIRE(!running_mean == !running_var, "batchnorm: running_mean and running_var must both be given or both NULL");
    DKC_NOT_NULL(y);
    DKC_NOT_NULL(mean);
    DKC_NOT_NULL(rstd);
    DKC_NOT_NULL(x);
    DKC_NOT_NULL(gamma);
    DKC_NOT_NULL(beta);
    DK_LAUNCH(batchnorm_forward_kernel, dim3(static_cast<unsigned>(c)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), y, mean, rstd, running_mean, running_var, x, gamma, beta, n, c, hw,
              eps, momentum);
    return dkc::launched("batchnorm_forward_kernel");
}

extern "C" int dkc_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                      const float *mean, const float *rstd, const float *gamma, int64_t n, int64_t c,
                                      int64_t hw, dkc_stream stream) {
    if (int s = check(n, c, hw, "batchnorm_backward")) return s;
    DKC_NOT_NULL(dx);
    DKC_NOT_NULL(dgamma);
    DKC_NOT_NULL(dbeta);
    DKC_NOT_NULL(dy);
    DKC_NOT_NULL(x);
    DKC_NOT_NULL(mean);
    DKC_NOT_NULL(rstd);
    DKC_NOT_NULL(gamma);
    DK_LAUNCH(batchnorm_backward_kernel, dim3(static_cast<unsigned>(c)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), dx, dgamma, dbeta, dy, x, mean, rstd, gamma, n, c, hw);
    return dkc::launched("batchnorm_backward_kernel");
}

extern "C" int dkc_batchnorm_inference(float *y, const float *x, const float *gamma, const float *beta,
                                       const float *running_mean, const float *running_var, int64_t n, int64_t c,
                                       int64_t hw, float eps, dkc_stream stream) {
    if (int s = check(n, c, hw, "batchnorm_inference")) return s;
    DKC_REQUIRE(eps > 0.0f, "batchnorm_inference: eps (%g) must be > 0", eps);
    DKC_NOT_NULL(y);
    DKC_NOT_NULL(x);
    DKC_NOT_NULL(gamma);
    DKC_NOT_NULL(beta);
    DKC_NOT_NULL(running_mean);
    DKC_NOT_NULL(running_var);
    DK_LAUNCH(batchnorm_inference_kernel, dim3(static_cast<unsigned>(c)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), y, x, gamma, beta, running_mean, running_var, n, c, hw, eps);
    return dkc::launched("batchnorm_inference_kernel");
}

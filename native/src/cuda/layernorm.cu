// Layer norm over the last dimension, forward and backward.
// Forward: one warp per row (8 per block); mean, then the variance from a second pass over the
// row (exact for rows with a large mean, unlike E[x^2] - E[x]^2); the row stays in L1/L2.
// Backward: one warp per row for dx (two warp sums: mean(dy * gamma) and mean(dy * gamma * xhat));
// dgamma and dbeta are column sums over rows, done by a second kernel without atomics (so they are
// deterministic): a block owns 32 columns, its 8 warps take every 8th row with lanes on
// consecutive columns (coalesced), and the 8 partial sums meet in shared memory.
#include "dk_cuda_rt.h"
#include "reduce.cuh"

namespace {

constexpr int ROWS_PER_BLOCK = 8, THREADS = ROWS_PER_BLOCK * 32;

__global__ __launch_bounds__(THREADS) void layernorm_forward_kernel(float *y, float *mean, float *rstd, const float *x,
                                                                     const float *gamma, const float *beta,
                                                                     int64_t rows, int64_t cols, float eps) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * ROWS_PER_BLOCK + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float *xr = x + row * cols;
    float s = 0.0f;
    for (int64_t j = lane; j < cols; j += 32) s += xr[j];
    const float mu = dk_warp_sum(s) / static_cast<float>(cols);
    float v = 0.0f;
    for (int64_t j = lane; j < cols; j += 32) {
        const float d = xr[j] - mu;
        v += d * d;
    }
    const float r = rsqrtf(dk_warp_sum(v) / static_cast<float>(cols) + eps);
    float *yr = y + row * cols;
    for (int64_t j = lane; j < cols; j += 32) yr[j] = (xr[j] - mu) * r * gamma[j] + beta[j];
    if (lane == 0) mean[row] = mu, rstd[row] = r;
}

__global__ __launch_bounds__(THREADS) void layernorm_backward_dx_kernel(float *dx, const float *dy, const float *x,
                                                                         const float *mean, const float *rstd,
                                                                         const float *gamma, int64_t rows,
                                                                         int64_t cols) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * ROWS_PER_BLOCK + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float *xr = x + row * cols, *dyr = dy + row * cols;
    const float mu = mean[row], r = rstd[row];
    float sg = 0.0f, sgx = 0.0f;
    for (int64_t j = lane; j < cols; j += 32) {
        const float g = dyr[j] * gamma[j];
        sg += g;
        sgx += g * (xr[j] - mu) * r;
    }
    sg = dk_warp_sum(sg) / static_cast<float>(cols);
    sgx = dk_warp_sum(sgx) / static_cast<float>(cols);
    float *dxr = dx + row * cols;
    for (int64_t j = lane; j < cols; j += 32) {
        const float xhat = (xr[j] - mu) * r;
        dxr[j] = r * (dyr[j] * gamma[j] - sg - xhat * sgx);
    }
}

__global__ __launch_bounds__(THREADS) void layernorm_backward_params_kernel(float *dgamma, float *dbeta,
                                                                             const float *dy, const float *x,
                                                                             const float *mean, const float *rstd,
                                                                             int64_t rows, int64_t cols) {
    DK_SHARED(float, part, [2][ROWS_PER_BLOCK][33]);
    const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
    const int64_t col = static_cast<int64_t>(blockIdx.x) * 32 + lane;
    float dg = 0.0f, db = 0.0f;
    if (col < cols)
        for (int64_t r = w; r < rows; r += ROWS_PER_BLOCK) {
            const float d = dy[r * cols + col];
            dg += d * (x[r * cols + col] - mean[r]) * rstd[r];
            db += d;
        }
    part[0][w][lane] = dg;
    part[1][w][lane] = db;
    __syncthreads();
    if (w == 0 && col < cols) {
        float g = 0.0f, b = 0.0f;
#pragma unroll
        for (int i = 0; i < ROWS_PER_BLOCK; ++i) g += part[0][i][lane], b += part[1][i][lane];
        dgamma[col] = g;
        dbeta[col] = b;
    }
}

int check(int64_t rows, int64_t cols, const char *op) {
    DKC_REQUIRE(rows >= 1, "%s: rows (%lld) must be >= 1", op, (long long)rows);
    DKC_REQUIRE(cols >= 1, "%s: cols (%lld) must be >= 1", op, (long long)cols);
    DKC_REQUIRE(rows / ROWS_PER_BLOCK < 0x7fffffff, "%s: rows (%lld) is too large for one launch", op, (long long)rows);
    return DK_OK;
}

} // namespace

extern "C" int dkc_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                                     const float *beta, int64_t rows, int64_t cols, float eps, dkc_stream stream) {
    if (int s = check(rows, cols, "layernorm")) return s;
    DKC_REQUIRE(eps > 0.0f, "layernorm: eps (%g) must be > 0", eps);
    DKC_NOT_NULL(y);
    DKC_NOT_NULL(mean);
    DKC_NOT_NULL(rstd);
    DKC_NOT_NULL(x);
    DKC_NOT_NULL(gamma);
    DKC_NOT_NULL(beta);
    DK_LAUNCH(layernorm_forward_kernel, dim3(dkc::blocks_for(rows, ROWS_PER_BLOCK)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), y, mean, rstd, x, gamma, beta, rows, cols, eps);
    return dkc::launched("layernorm_forward_kernel");
}

extern "C" int dkc_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                      const float *mean, const float *rstd, const float *gamma, int64_t rows,
                                      int64_t cols, dkc_stream stream) {
    if (int s = check(rows, cols, "layernorm_backward")) return s;
    DKC_NOT_NULL(dx);
    DKC_NOT_NULL(dgamma);
    DKC_NOT_NULL(dbeta);
    DKC_NOT_NULL(dy);
    DKC_NOT_NULL(x);
    DKC_NOT_NULL(mean);
    DKC_NOT_NULL(rstd);
    DKC_NOT_NULL(gamma);
    const auto s = static_cast<cudaStream_t>(stream);
    DK_LAUNCH(layernorm_backward_dx_kernel, dim3(dkc::blocks_for(rows, ROWS_PER_BLOCK)), dim3(THREADS), 0, s, dx, dy,
              x, mean, rstd, gamma, rows, cols);
    if (int st = dkc::launched("layernorm_backward_dx_kernel")) return st;
    DK_LAUNCH(layernorm_backward_params_kernel, dim3(dkc::blocks_for(cols, 32)), dim3(THREADS), 0, s, dgamma, dbeta,
              dy, x, mean, rstd, rows, cols);
    return dkc::launched("layernorm_backward_params_kernel");
}

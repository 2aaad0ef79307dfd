// Row-wise softmax, forward and backward, and the fused softmax + cross-entropy.
// One warp per row, 8 rows per block: each lane strides over the row (coalesced), keeps an
// online (max, sum) pair in one pass, and the warp merges the pairs with butterfly shuffles.
// Forward reads the row twice (the second read hits L1/L2 for rows up to tens of thousands of
// floats) and writes it once.
#include "dk_cuda_rt.h"
#include "reduce.cuh"

namespace {

constexpr int ROWS_PER_BLOCK = 8, THREADS = ROWS_PER_BLOCK * 32;

__global__ __launch_bounds__(THREADS) void softmax_forward_kernel(float *y, const float *x, int64_t rows,
                                                                   int64_t cols) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * ROWS_PER_BLOCK + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return; // whole warps leave together: no barrier below
    const float *xr = x + row * cols;
    DkMaxSum ms{-INFINITY, 0.0f};
    for (int64_t j = lane; j < cols; j += 32) ms = dk_maxsum_add(ms, xr[j]);
    ms = dk_warp_maxsum(ms);
    const float inv = 1.0f / ms.s;
    float *yr = y + row * cols;
    for (int64_t j = lane; j < cols; j += 32) yr[j] = expf(xr[j] - ms.m) * inv;
}

__global__ __launch_bounds__(THREADS) void softmax_backward_kernel(float *dx, const float *dy, const float *y,
                                                                    int64_t rows, int64_t cols) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * ROWS_PER_BLOCK + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float *dyr = dy + row * cols, *yr = y + row * cols;
    float dot = 0.0f;
    for (int64_t j = lane; j < cols; j += 32) dot += dyr[j] * yr[j];
    dot = dk_warp_sum(dot);
    float *dxr = dx + row * cols;
    for (int64_t j = lane; j < cols; j += 32) dxr[j] = yr[j] * (dyr[j] - dot);
}

__global__ __launch_bounds__(THREADS) void softmax_cross_entropy_kernel(float *losses, float *dlogits,
                                                                         const float *logits, const int32_t *targets,
                                                                         int64_t rows, int64_t classes,
                                                                         float grad_scale) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * ROWS_PER_BLOCK + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float *xr = logits + row * classes;
    const int32_t target = targets[row];
    const bool valid = target >= 0 && target < classes;
    // Read before the shuffles: dlogits may be logits, and no lane writes before all have read.
    const float x_target = valid ? xr[target] : NAN;
    DkMaxSum ms{-INFINITY, 0.0f};
    for (int64_t j = lane; j < classes; j += 32) ms = dk_maxsum_add(ms, xr[j]);
    ms = dk_warp_maxsum(ms);
    const float lse = ms.m + logf(ms.s);
    if (lane == 0) losses[row] = lse - x_target;
    if (!dlogits) return;
    float *dr = dlogits + row * classes;
    for (int64_t j = lane; j < classes; j += 32) {
        const float p = expf(xr[j] - lse);
        dr[j] = valid ? (p - (j == target ? 1.0f : 0.0f)) * grad_scale : NAN;
    }
}

int check_rows(int64_t rows, int64_t cols, const char *op, const char *cols_name) {
    DKC_REQUIRE(rows >= 0, "%s: rows (%lld) must be >= 0", op, (long long)rows);
    DKC_REQUIRE(cols >= 1, "%s: %s (%lld) must be >= 1", op, cols_name, (long long)cols);
    DKC_REQUIRE(rows / ROWS_PER_BLOCK < 0x7fffffff, "%s: rows (%lld) is too large for one launch", op, (long long)rows);
    return DK_OK;
}

} // namespace

extern "C" int dkc_softmax_forward(float *y, const float *x, int64_t rows, int64_t cols, dkc_stream stream) {
    if (int s = check_rows(rows, cols, "softmax", "cols")) return s;
    if (rows == 0) return DK_OK;
    DKC_NOT_NULL(y);
    DKC_NOT_NULL(x);
    DK_LAUNCH(softmax_forward_kernel, dim3(dkc::blocks_for(rows, ROWS_PER_BLOCK)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), y, x, rows, cols);
    return dkc::launched("softmax_forward_kernel");
}

extern "C" int dkc_softmax_backward(float *dx, const float *dy, const float *y, int64_t rows, int64_t cols,
                                    dkc_stream stream) {
    if (int s = check_rows(rows, cols, "softmax_backward", "cols")) return s;
    if (rows == 0) return DK_OK;
    DKC_NOT_NULL(dx);
    DKC_NOT_NULL(dy);
    DKC_NOT_NULL(y);
    DK_LAUNCH(softmax_backward_kernel, dim3(dkc::blocks_for(rows, ROWS_PER_BLOCK)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), dx, dy, y, rows, cols);
    return dkc::launched("softmax_backward_kernel");
}

extern "C" int dkc_softmax_cross_entropy(float *losses, float *dlogits, const float *logits, const int32_t *targets,
                                         int64_t rows, int64_t classes, float grad_scale, dkc_stream stream) {
    if (int s = check_rows(rows, classes, "softmax_cross_entropy", "classes")) return s;
    if (rows == 0) return DK_OK;
    DKC_NOT_NULL(losses);
    DKC_NOT_NULL(logits);
    DKC_NOT_NULL(targets);
    DK_LAUNCH(softmax_cross_entropy_kernel, dim3(dkc::blocks_for(rows, ROWS_PER_BLOCK)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), losses, dlogits, logits, targets, rows, classes, grad_scale);
    return dkc::launched("softmax_cross_entropy_kernel");
}

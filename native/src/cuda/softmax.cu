// Row-wise softmax and log-softmax, forward and backward, and the fused softmax + cross-entropy
// (per-row losses and gradient; and dk_softmax_xent_*'s mean loss with label smoothing).
// One warp per row, 8 rows per block: each lane strides over the row (coalesced), keeps an
// online (max, sum) pair in one pass, and the warp merges the pairs with butterfly shuffles.
// Forward reads the row twice (the second read hits L1/L2 for rows up to tens of thousands of
// floats) and writes it once.
#include "dk_cuda_rt.h"
#include "reduce.cuh"

namespace {

constexpr int ROWS_PER_BLOCK = 8, THREADS = ROWS_PER_BLOCK * 32;

__global__ __launch_bounds__(THREADS) void softmax_forward_kernel(float *y, const float *x, int64_t rows,
                                                                   int64_t cols, int log) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * ROWS_PER_BLOCK + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return; // whole warps leave together: no barrier below
    const float *xr = x + row * cols;
    DkMaxSum ms{-INFINITY, 0.0f};
    for (int64_t j = lane; j < cols; j += 32) ms = dk_maxsum_add(ms, xr[j]);
    ms = dk_warp_maxsum(ms);
    float *yr = y + row * cols; // may be xr: each lane reads an element before writing it
    if (log) {
        const float lse = ms.m + logf(ms.s);
        for (int64_t j = lane; j < cols; j += 32) yr[j] = xr[j] - lse;
    } else {
        const float inv = 1.0f / ms.s;
        for (int64_t j = lane; j < cols; j += 32) yr[j] = expf(xr[j] - ms.m) * inv;
    }
}

__global__ __launch_bounds__(THREADS) void softmax_backward_kernel(float *dx, const float *dy, const float *y,
                                                                    int64_t rows, int64_t cols, int log) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * ROWS_PER_BLOCK + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float *dyr = dy + row * cols, *yr = y + row * cols;
    float dot = 0.0f; // softmax: sum(dy * y); log-softmax: sum(dy)
    for (int64_t j = lane; j < cols; j += 32) dot += log ? dyr[j] : dyr[j] * yr[j];
    dot = dk_warp_sum(dot);
    float *dxr = dx + row * cols;
    if (log)
        for (int64_t j = lane; j < cols; j += 32) dxr[j] = dyr[j] - expf(yr[j]) * dot;
    else
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

// dk_softmax_xent_forward, per row: probs = softmax(logits) and the row's smoothed
// cross-entropy -sum_j target_j (x_j - lse) = lse - (on - off) x_label - off sum_j x_j.
__global__ __launch_bounds__(THREADS) void softmax_xent_rows_kernel(float *row_loss, float *probs, const float *logits,
                                                                     const float *labels, int64_t rows,
                                                                     int64_t classes, float on, float off) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * ROWS_PER_BLOCK + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float *xr = logits + row * classes;
    const float lf = labels[row];
    const bool valid = lf >= 0.0f && lf < static_cast<float>(classes);
    const int64_t label = valid ? static_cast<int64_t>(lf) : 0;
    DkMaxSum ms{-INFINITY, 0.0f};
    float xsum = 0.0f;
    for (int64_t j = lane; j < classes; j += 32) ms = dk_maxsum_add(ms, xr[j]), xsum += xr[j];
    ms = dk_warp_maxsum(ms);
    xsum = dk_warp_sum(xsum);
    const float lse = ms.m + logf(ms.s);
    if (lane == 0) row_loss[row] = valid ? lse - (on - off) * xr[label] - off * xsum : NAN;
    float *pr = probs + row * classes;
    for (int64_t j = lane; j < classes; j += 32) pr[j] = expf(xr[j] - lse);
}

// loss[0] = sum(row_loss) / rows, summed by one block in a fixed order.
__global__ __launch_bounds__(THREADS) void softmax_xent_mean_kernel(float *loss, const float *row_loss, int64_t rows) {
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < rows; i += THREADS) s += row_loss[i];
    s = dk_block_sum(s);
    if (threadIdx.x == 0) loss[0] = s / static_cast<float>(rows);
}

__global__ __launch_bounds__(THREADS) void softmax_xent_backward_kernel(float *dlogits, const float *probs,
                                                                         const float *labels, int64_t rows,
                                                                         int64_t classes, float scale, float on,
                                                                         float off) {
    const int64_t total = rows * classes;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t row = i / classes, j = i - row * classes;
        const float lf = labels[row];
        const bool valid = lf >= 0.0f && lf < static_cast<float>(classes);
        dlogits[i] = valid ? scale * (probs[i] - (j == static_cast<int64_t>(lf) ? on : off)) : NAN;
    }
}

int check_rows(int64_t rows, int64_t cols, const char *op, const char *cols_name) {
    DKC_REQUIRE(rows >= 0, "%s: rows (%lld) must be >= 0", op, (long long)rows);
    DKC_REQUIRE(cols >= 1, "%s: %s (%lld) must be >= 1", op, cols_name, (long long)cols);
    DKC_REQUIRE(rows / ROWS_PER_BLOCK < 0x7fffffff, "%s: rows (%lld) is too large for one launch", op, (long long)rows);
    return DK_OK;
}

} // namespace

extern "C" int dkc_softmax_forward(float *y, const float *x, int64_t rows, int64_t cols, int32_t log,
                                   dkc_stream stream) {
    DKC_REQUIRE(log == 0 || log == 1, "softmax: log (%d) must be 0 or 1", log);
    if (int s = check_rows(rows, cols, "softmax", "cols")) return s;
    if (rows == 0) return DK_OK;
    DKC_NOT_NULL(y);
    DKC_NOT_NULL(x);
    DK_LAUNCH(softmax_forward_kernel, dim3(dkc::blocks_for(rows, ROWS_PER_BLOCK)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), y, x, rows, cols, log);
    return dkc::launched("softmax_forward_kernel");
}

extern "C" int dkc_softmax_backward(float *dx, const float *dy, const float *y, int64_t rows, int64_t cols,
                                    int32_t log, dkc_stream stream) {
    DKC_REQUIRE(log == 0 || log == 1, "softmax_backward: log (%d) must be 0 or 1", log);
    if (int s = check_rows(rows, cols, "softmax_backward", "cols")) return s;
    if (rows == 0) return DK_OK;
    DKC_NOT_NULL(dx);
    DKC_NOT_NULL(dy);
    DKC_NOT_NULL(y);
    DK_LAUNCH(softmax_backward_kernel, dim3(dkc::blocks_for(rows, ROWS_PER_BLOCK)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), dx, dy, y, rows, cols, log);
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

namespace {

int check_xent(const dk_xent_desc *d, const char *op) {
    DKC_NOT_NULL(d);
    if (int s = check_rows(d->n, d->classes, op, "classes")) return s;
    DKC_REQUIRE(d->smoothing >= 0.0f && d->smoothing < 1.0f, "%s: smoothing (%g) must be in [0, 1)", op,
                d->smoothing);
    return DK_OK;
}

} // namespace

extern "C" int dkc_softmax_xent_forward(const dk_xent_desc *d, float *loss, float *probs, const float *logits,
                                        const float *labels, dkc_stream stream) {
    if (int s = check_xent(d, "softmax_xent_forward")) return s;
    DKC_NOT_NULL(loss);
    if (d->n == 0) return DK_OK;
    DKC_NOT_NULL(probs);
    DKC_NOT_NULL(logits);
    DKC_NOT_NULL(labels);
    const auto s = static_cast<cudaStream_t>(stream);
    float *row_loss = nullptr;
    if (int st = dkc_malloc(reinterpret_cast<void **>(&row_loss), d->n * int64_t(sizeof(float)))) return st;
    const float off = d->smoothing / static_cast<float>(d->classes), on = 1.0f - d->smoothing + off;
    DK_LAUNCH(softmax_xent_rows_kernel, dim3(dkc::blocks_for(d->n, ROWS_PER_BLOCK)), dim3(THREADS), 0, s, row_loss,
              probs, logits, labels, d->n, d->classes, on, off);
    int st = dkc::launched("softmax_xent_rows_kernel");
    if (st == DK_OK) {
        DK_LAUNCH(softmax_xent_mean_kernel, dim3(1), dim3(THREADS), 0, s, loss, row_loss, d->n);
        st = dkc::launched("softmax_xent_mean_kernel");
    }
    dkc_free(row_loss); // reused only by later work on this stream (the cuda backend's only one)
    return st;
}

extern "C" int dkc_softmax_xent_backward(const dk_xent_desc *d, float dloss, float *dlogits, const float *probs,
                                         const float *labels, dkc_stream stream) {
    if (int s = check_xent(d, "softmax_xent_backward")) return s;
    if (d->n == 0) return DK_OK;
    DKC_NOT_NULL(dlogits);
    DKC_NOT_NULL(probs);
    DKC_NOT_NULL(labels);
    const float off = d->smoothing / static_cast<float>(d->classes), on = 1.0f - d->smoothing + off;
    const int64_t total = d->n * d->classes, blocks = (total + THREADS - 1) / THREADS;
    DK_LAUNCH(softmax_xent_backward_kernel, dim3(static_cast<unsigned>(blocks < 65536 ? blocks : 65536)),
              dim3(THREADS), 0, static_cast<cudaStream_t>(stream), dlogits, probs, labels, d->n, d->classes,
              dloss / static_cast<float>(d->n), on, off);
    return dkc::launched("softmax_xent_backward_kernel");
}

// Layer normalization on the CPU in float, forward and backward side by side: x [rows, cols],
// each row normalized over its cols, gamma and beta [cols]. Rows are split between the threads
// and each row's loops are vectorized per ISA (cpu/isa_clones.h). The mean comes from a blocked
// sum (cpu/blocked_sum.h) of the row shifted by its first value, and the variance from a second
// pass over the centred row, with the mean as a float pair (cpu/norm/float_pair.h): data far
// from zero (1000 +- 2) keep their precision.
//
// The backward sums dgamma and dbeta over rows in a fixed number of row blocks that depends on
// the shape only, then adds the blocks in order: the result is the same on any thread count.
#include "core/train_ops.h"
#include "cpu/blocked_sum.h"
#include "cpu/isa_clones.h"
#include "cpu/norm/float_pair.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace dk {

namespace {

// sum(x - k)
DK_CLONE_BODY double row_shifted_sum_body(const float *x, int64_t n, float k) {
    return blocked_sum(n, [=](int64_t i) { return x[i] - k; });
}
DK_CLONE_BODY double row_centred_squares_body(const float *x, int64_t n, FloatPair mean) {
    return blocked_sum(n, [=](int64_t i) {
        const float v = (x[i] - mean.hi) - mean.lo;
        return v * v;
    });
}
// y = xhat gamma + beta, xhat = (x - mean) invstd
DK_CLONE_BODY void row_normalize_body(float *y, const float *x, int64_t n, FloatPair mean, float invstd,
                                      const float *gamma, const float *beta) {
    for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - mean.hi) - mean.lo) * invstd * gamma[i] + beta[i];
}
// With g = dy gamma: sums sum(g) and sum(g xhat) for dx, and adds dy xhat and dy to the row
// block's dgamma and dbeta partials.
DK_CLONE_BODY void row_grad_sums_body(const float *dy, const float *x, const float *gamma, int64_t n, FloatPair mean,
                                      float invstd, double *sg, double *sgx, float *dgamma, float *dbeta) {
    for (int64_t i = 0; i < n; ++i) {
        const float xhat = ((x[i] - mean.hi) - mean.lo) * invstd;
        dgamma[i] += dy[i] * xhat;
        dbeta[i] += dy[i];
    }
    *sg = blocked_sum(n, [=](int64_t i) { return dy[i] * gamma[i]; });
    *sgx = blocked_sum(n, [=](int64_t i) { return dy[i] * gamma[i] * (((x[i] - mean.hi) - mean.lo) * invstd); });
}
// dx = invstd g - a - xhat b with a = invstd sum(g) / cols, b = invstd sum(g xhat) / cols
DK_CLONE_BODY void row_grad_body(float *dx, const float *dy, const float *x, const float *gamma, int64_t n,
                                 FloatPair mean, float invstd, float a, float b) {
    for (int64_t i = 0; i < n; ++i) {
        const float xhat = ((x[i] - mean.hi) - mean.lo) * invstd;
        dx[i] = invstd * (dy[i] * gamma[i]) - a - xhat * b;
    }
}
// out = sum over the blocks of part[b] (block order fixed)
DK_CLONE_BODY void sum_blocks_body(float *out, const float *part, int64_t blocks, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = 0.0f;
    for (int64_t b = 0; b < blocks; ++b)
        for (int64_t i = 0; i < n; ++i) out[i] += part[b * n + i];
}
DK_ISA_CLONES_RETURNING(double, row_shifted_sum, (const float *x, int64_t n, float k), (x, n, k))
DK_ISA_CLONES_RETURNING(double, row_centred_squares, (const float *x, int64_t n, FloatPair mean), (x, n, mean))
DK_ISA_CLONES(row_normalize,
              (float *y, const float *x, int64_t n, FloatPair mean, float invstd, const float *gamma, const float *beta),
              (y, x, n, mean, invstd, gamma, beta))
DK_ISA_CLONES(row_grad_sums,
              (const float *dy, const float *x, const float *gamma, int64_t n, FloatPair mean, float invstd, double *sg,
               double *sgx, float *dgamma, float *dbeta),
              (dy, x, gamma, n, mean, invstd, sg, sgx, dgamma, dbeta))
DK_ISA_CLONES(row_grad,
              (float *dx, const float *dy, const float *x, const float *gamma, int64_t n, FloatPair mean, float invstd,
               float a, float b),
              (dx, dy, x, gamma, n, mean, invstd, a, b))
DK_ISA_CLONES(sum_blocks, (float *out, const float *part, int64_t blocks, int64_t n), (out, part, blocks, n))

constexpr int64_t kSerialBelow = 1 << 14;
constexpr int64_t kMaxRowBlocks = 64; // dgamma/dbeta partials: at most 64 x cols x 2 floats

void layernorm_forward_cpu(const LayernormArgs &a) {
    const int64_t cols = a.d.cols;
    const NormArgs &p = a.p;
#pragma omp parallel for schedule(static) if (a.d.rows * cols >= kSerialBelow)
    for (int64_t r = 0; r < a.d.rows; ++r) {
        const float *x = p.x + r * cols;
        const double mean = cols > 0 ? x[0] + row_shifted_sum(x, cols, x[0]) / cols : 0.0;
        const double var = cols > 0 ? row_centred_squares(x, cols, FloatPair(mean)) / cols : 0.0;
        const double invstd = 1.0 / std::sqrt(var + a.d.eps);
        p.save_mean[r] = static_cast<float>(mean);
        p.save_invstd[r] = static_cast<float>(invstd);
        row_normalize(p.y + r * cols, x, cols, FloatPair(mean), static_cast<float>(invstd), p.gamma, p.beta);
    }
}

void layernorm_backward_cpu(const LayernormArgs &a) {
    const int64_t rows = a.d.rows, cols = a.d.cols;
    const NormArgs &p = a.p;
    const int64_t blocks = std::max<int64_t>(1, std::min(rows, kMaxRowBlocks));
    std::vector<float> dgamma_part(blocks * cols, 0.0f), dbeta_part(blocks * cols, 0.0f);
#pragma omp parallel for schedule(static) if (rows * cols >= kSerialBelow)
    for (int64_t b = 0; b < blocks; ++b) {
        for (int64_t r = b * rows / blocks; r < (b + 1) * rows / blocks; ++r) {
            const float *x = p.x + r * cols, *dy = p.dy + r * cols;
            const FloatPair mean(p.mean[r]);
            const float invstd = p.invstd[r];
            double sg, sgx;
            row_grad_sums(dy, x, p.gamma, cols, mean, invstd, &sg, &sgx, &dgamma_part[b * cols], &dbeta_part[b * cols]);
            row_grad(p.dx + r * cols, dy, x, p.gamma, cols, mean, invstd, static_cast<float>(invstd * sg / cols),
                     static_cast<float>(invstd * sgx / cols));
        }
    }
    sum_blocks(p.dgamma, dgamma_part.data(), blocks, cols);
    sum_blocks(p.dbeta, dbeta_part.data(), blocks, cols);
}

bool all_ln(const dk_layernorm_desc &) { return true; }

} // namespace

extern const LayernormImpl layernorm_forward_cpu_impl = {"cpu", all_ln, layernorm_forward_cpu};
extern const LayernormImpl layernorm_backward_cpu_impl = {"cpu", all_ln, layernorm_backward_cpu};

} // namespace dk

// Batch normalization on the CPU, forward and backward side by side. x [n, c, spatial]: each
// channel's statistics run over n rows of `spatial` contiguous floats. Every row is reduced in
// float across SIMD lanes (cpu/isa_clones.h) and the row sums are added in double, so the error
// grows with the row length, not with n * spatial. The variance comes from moments around a
// shift (the channel's first value), which avoids the cancellation of E[x^2] - E[x]^2.
// The mean enters the per-element formulas as a float pair (hi + lo), so (x - mean) keeps its
// precision when the data sit far from zero. Channels are split between the threads.
#include "core/train_ops.h"
#include "cpu/isa_clones.h"
#include "cpu/norm/float_pair.h"

#include <cmath>

namespace dk {

namespace {

// s += sum(x - k), s2 += sum((x - k)^2) over one row.
DK_CLONE_BODY void row_moments_body(const float *x, int64_t n, float k, double *s, double *s2) {
    float a = 0, a2 = 0;
#pragma omp simd reduction(+ : a, a2)
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i] - k;
        a += v;
        a2 += v * v;
    }
    *s += a;
    *s2 += a2;
}
// y = (x - mean) scale + beta over one row.
DK_CLONE_BODY void row_normalize_body(float *y, const float *x, int64_t n, FloatPair mean, float scale, float beta) {
    for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - mean.hi) - mean.lo) * scale + beta;
}
// sdy += sum(dy), sdyxm += sum(dy (x - mean)) over one row.
DK_CLONE_BODY void row_grad_sums_body(const float *dy, const float *x, int64_t n, FloatPair mean, double *sdy,
                                      double *sdyxm) {
    float a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (int64_t i = 0; i < n; ++i) {
        a += dy[i];
        b += dy[i] * ((x[i] - mean.hi) - mean.lo);
    }
    *sdy += a;
    *sdyxm += b;
}
// dx = a dy + b (x - mean) + c over one row.
DK_CLONE_BODY void row_grad_body(float *dx, const float *dy, const float *x, int64_t n, FloatPair mean, float a, float b,
                                 float c) {
    for (int64_t i = 0; i < n; ++i) dx[i] = a * dy[i] + b * ((x[i] - mean.hi) - mean.lo) + c;
}
DK_ISA_CLONES(row_moments, (const float *x, int64_t n, float k, double *s, double *s2), (x, n, k, s, s2))
DK_ISA_CLONES(row_normalize, (float *y, const float *x, int64_t n, FloatPair mean, float scale, float beta),
              (y, x, n, mean, scale, beta))
DK_ISA_CLONES(row_grad_sums, (const float *dy, const float *x, int64_t n, FloatPair mean, double *sdy, double *sdyxm),
              (dy, x, n, mean, sdy, sdyxm))
DK_ISA_CLONES(row_grad, (float *dx, const float *dy, const float *x, int64_t n, FloatPair mean, float a, float b, float c),
              (dx, dy, x, n, mean, a, b, c))

void batchnorm_forward_cpu(const BatchnormArgs &a) {
    const dk_batchnorm_desc &d = a.d;
    const NormArgs &p = a.p;
    const int64_t m = d.n * d.spatial;
    auto row = [&](const float *base, int64_t i, int64_t c) { return base + (i * d.c + c) * d.spatial; };
#pragma omp parallel for schedule(static) if (d.n * d.c * d.spatial >= (1 << 14))
    for (int64_t c = 0; c < d.c; ++c) {
        double mean, invstd;
        if (d.training) {
            const float k = row(p.x, 0, c)[0];
            double s = 0, s2 = 0;
            for (int64_t i = 0; i < d.n; ++i) row_moments(row(p.x, i, c), d.spatial, k, &s, &s2);
            const double shifted_mean = s / m, var = std::max(0.0, s2 / m - shifted_mean * shifted_mean);
            mean = k + shifted_mean;
            invstd = 1.0 / std::sqrt(var + d.eps);
            p.save_mean[c] = static_cast<float>(mean);
            p.save_invstd[c] = static_cast<float>(invstd);
            p.running_mean[c] = static_cast<float>((1.0 - d.momentum) * p.running_mean[c] + d.momentum * mean);
            p.running_var[c] = static_cast<float>((1.0 - d.momentum) * p.running_var[c] + d.momentum * var * m / (m - 1));
        } else {
            mean = p.running_mean[c];
            invstd = 1.0 / std::sqrt(static_cast<double>(p.running_var[c]) + d.eps);
        }
        const float scale = static_cast<float>(p.gamma[c] * invstd);
        for (int64_t i = 0; i < d.n; ++i)
            row_normalize(p.y + (i * d.c + c) * d.spatial, row(p.x, i, c), d.spatial, FloatPair(mean), scale, p.beta[c]);
    }
}

// dx = gamma invstd / m (m dy - sum(dy) - xhat sum(dy xhat)), xhat = (x - mean) invstd,
// written as dx = a dy + b (x - mean) + c per channel.
void batchnorm_backward_cpu(const BatchnormArgs &a) {
    const dk_batchnorm_desc &d = a.d;
    const NormArgs &p = a.p;
    const int64_t m = d.n * d.spatial;
#pragma omp parallel for schedule(static) if (d.n * d.c * d.spatial >= (1 << 14))
    for (int64_t c = 0; c < d.c; ++c) {
        const double mean = p.mean[c], invstd = p.invstd[c];
        double sdy = 0, sdyxm = 0; // sum(dy), sum(dy (x - mean))
        for (int64_t i = 0; i < d.n; ++i) {
            const int64_t o = (i * d.c + c) * d.spatial;
            row_grad_sums(p.dy + o, p.x + o, d.spatial, FloatPair(mean), &sdy, &sdyxm);
        }
        const double sdyx = sdyxm * invstd; // sum(dy xhat)
        p.dbeta[c] = static_cast<float>(sdy);
        p.dgamma[c] = static_cast<float>(sdyx);
        const double k = p.gamma[c] * invstd / m;
        const float ca = static_cast<float>(k * m), cb = static_cast<float>(-k * invstd * sdyx),
                    cc = static_cast<float>(-k * sdy);
        for (int64_t i = 0; i < d.n; ++i) {
            const int64_t o = (i * d.c + c) * d.spatial;
            row_grad(p.dx + o, p.dy + o, p.x + o, d.spatial, FloatPair(mean), ca, cb, cc);
        }
    }
}

bool all_bn(const dk_batchnorm_desc &) { return true; }

} // namespace

extern const BatchnormImpl batchnorm_forward_cpu_impl = {"cpu", all_bn, batchnorm_forward_cpu};
extern const BatchnormImpl batchnorm_backward_cpu_impl = {"cpu", all_bn, batchnorm_backward_cpu};

} // namespace dk

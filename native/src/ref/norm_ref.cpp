// Reference batch normalization (per channel of [n, c, spatial]) and layer normalization (per
// row of [rows, cols]), forward and backward side by side. Statistics in double.
#include "core/train_ops.h"

#include <cmath>

namespace dk {

namespace {

void batchnorm_forward_ref(const BatchnormArgs &a) {
    const dk_batchnorm_desc &d = a.d;
    const NormArgs &p = a.p;
    const int64_t m = d.n * d.spatial;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < d.c; ++c) {
        double mean, invstd;
        if (d.training) {
            double s = 0;
            for (int64_t i = 0; i < d.n; ++i) {
                const float *x = p.x + (i * d.c + c) * d.spatial;
                for (int64_t j = 0; j < d.spatial; ++j) s += x[j];
            }
            mean = s / m;
            double v = 0;
            for (int64_t i = 0; i < d.n; ++i) {
                const float *x = p.x + (i * d.c + c) * d.spatial;
                for (int64_t j = 0; j < d.spatial; ++j) v += (x[j] - mean) * (x[j] - mean);
            }
            const double var = v / m;
            invstd = 1.0 / std::sqrt(var + d.eps);
            p.save_mean[c] = static_cast<float>(mean);
            p.save_invstd[c] = static_cast<float>(invstd);
            p.running_mean[c] = static_cast<float>((1.0 - d.momentum) * p.running_mean[c] + d.momentum * mean);
            p.running_var[c] = static_cast<float>((1.0 - d.momentum) * p.running_var[c] + d.momentum * v / (m - 1));
        } else {
            mean = p.running_mean[c];
            invstd = 1.0 / std::sqrt(static_cast<double>(p.running_var[c]) + d.eps);
        }
        const double scale = p.gamma[c] * invstd, shift = p.beta[c] - mean * scale;
        for (int64_t i = 0; i < d.n; ++i) {
            const float *x = p.x + (i * d.c + c) * d.spatial;
            float *y = p.y + (i * d.c + c) * d.spatial;
            for (int64_t j = 0; j < d.spatial; ++j) y[j] = static_cast<float>(x[j] * scale + shift);
        }
    }
}

// dx = gamma * invstd / m * (m * dy - sum(dy) - xhat * sum(dy * xhat))
void batchnorm_backward_ref(const BatchnormArgs &a) {
    const dk_batchnorm_desc &d = a.d;
    const NormArgs &p = a.p;
    const int64_t m = d.n * d.spatial;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < d.c; ++c) {
        const double mean = p.mean[c], invstd = p.invstd[c];
        double sdy = 0, sdyx = 0;
        for (int64_t i = 0; i < d.n; ++i) {
            const int64_t o = (i * d.c + c) * d.spatial;
            for (int64_t j = 0; j < d.spatial; ++j) {
                sdy += p.dy[o + j];
                sdyx += p.dy[o + j] * (p.x[o + j] - mean) * invstd;
            }
        }
        p.dbeta[c] = static_cast<float>(sdy);
        p.dgamma[c] = static_cast<float>(sdyx);
        const double k = p.gamma[c] * invstd / m;
        for (int64_t i = 0; i < d.n; ++i) {
            const int64_t o = (i * d.c + c) * d.spatial;
            for (int64_t j = 0; j < d.spatial; ++j) {
                const double xhat = (p.x[o + j] - mean) * invstd;
                p.dx[o + j] = static_cast<float>(k * (m * static_cast<double>(p.dy[o + j]) - sdy - xhat * sdyx));
            }
        }
    }
}

void layernorm_forward_ref(const LayernormArgs &a) {
    const int64_t cols = a.d.cols;
    const NormArgs &p = a.p;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < a.d.rows; ++r) {
        const float *x = p.x + r * cols;
        float *y = p.y + r * cols;
        double s = 0, v = 0;
        for (int64_t j = 0; j < cols; ++j) s += x[j];
        const double mean = cols > 0 ? s / cols : 0.0;
        for (int64_t j = 0; j < cols; ++j) v += (x[j] - mean) * (x[j] - mean);
        const double invstd = 1.0 / std::sqrt((cols > 0 ? v / cols : 0.0) + a.d.eps);
        p.save_mean[r] = static_cast<float>(mean);
        p.save_invstd[r] = static_cast<float>(invstd);
        for (int64_t j = 0; j < cols; ++j) y[j] = static_cast<float>((x[j] - mean) * invstd * p.gamma[j] + p.beta[j]);
    }
}

// Per row: g = dy * gamma; dx = invstd / cols * (cols * g - sum(g) - xhat * sum(g * xhat));
// dgamma, dbeta summed over rows.
void layernorm_backward_ref(const LayernormArgs &a) {
    const int64_t cols = a.d.cols;
    const NormArgs &p = a.p;
    for (int64_t j = 0; j < cols; ++j) p.dgamma[j] = p.dbeta[j] = 0.0f;
    for (int64_t r = 0; r < a.d.rows; ++r) {
        const float *x = p.x + r * cols, *dy = p.dy + r * cols;
        float *dx = p.dx + r * cols;
        const double mean = p.mean[r], invstd = p.invstd[r];
        double sg = 0, sgx = 0;
        for (int64_t j = 0; j < cols; ++j) {
            const double xhat = (x[j] - mean) * invstd, g = static_cast<double>(dy[j]) * p.gamma[j];
            sg += g;
            sgx += g * xhat;
            p.dgamma[j] += static_cast<float>(dy[j] * xhat);
            p.dbeta[j] += dy[j];
        }
        for (int64_t j = 0; j < cols; ++j) {
            const double xhat = (x[j] - mean) * invstd, g = static_cast<double>(dy[j]) * p.gamma[j];
            dx[j] = static_cast<float>(invstd / cols * (cols * g - sg - xhat * sgx));
        }
    }
}

bool all_bn(const dk_batchnorm_desc &) { return true; }
bool all_ln(const dk_layernorm_desc &) { return true; }

} // namespace

extern const BatchnormImpl batchnorm_forward_ref_impl = {"ref", all_bn, batchnorm_forward_ref};
extern const BatchnormImpl batchnorm_backward_ref_impl = {"ref", all_bn, batchnorm_backward_ref};
extern const LayernormImpl layernorm_forward_ref_impl = {"ref", all_ln, layernorm_forward_ref};
extern const LayernormImpl layernorm_backward_ref_impl = {"ref", all_ln, layernorm_backward_ref};

} // namespace dk

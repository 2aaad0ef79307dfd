// Reference softmax / log-softmax and the fused softmax cross-entropy, forward and backward side
// by side. Rows are independent and split across threads; sums in double.
#include "core/train_ops.h"

#include <cmath>

namespace dk {

namespace {

void softmax_forward_ref(const SoftmaxArgs &a) {
    const int64_t cols = a.d.cols;
#pragma omp parallel for schedule(static) if (a.d.rows * cols >= (1 << 14))
    for (int64_t r = 0; r < a.d.rows; ++r) {
        const float *x = a.x + r * cols;
        float *y = a.y + r * cols;
        float mx = x[0];
        for (int64_t j = 1; j < cols; ++j) mx = std::max(mx, x[j]);
        double sum = 0;
        for (int64_t j = 0; j < cols; ++j) sum += std::exp(static_cast<double>(x[j]) - mx);
        if (a.d.log) {
            const double lse = mx + std::log(sum);
            for (int64_t j = 0; j < cols; ++j) y[j] = static_cast<float>(x[j] - lse);
        } else {
            for (int64_t j = 0; j < cols; ++j) y[j] = static_cast<float>(std::exp(static_cast<double>(x[j]) - mx) / sum);
        }
    }
}

void softmax_backward_ref(const SoftmaxArgs &a) {
    const int64_t cols = a.d.cols;
#pragma omp parallel for schedule(static) if (a.d.rows * cols >= (1 << 14))
    for (int64_t r = 0; r < a.d.rows; ++r) {
        const float *dy = a.x + r * cols, *y = a.y2 + r * cols;
        float *dx = a.y + r * cols;
        double s = 0;
        if (a.d.log) {
            for (int64_t j = 0; j < cols; ++j) s += dy[j];
            for (int64_t j = 0; j < cols; ++j) dx[j] = static_cast<float>(dy[j] - std::exp(static_cast<double>(y[j])) * s);
        } else {
            for (int64_t j = 0; j < cols; ++j) s += static_cast<double>(dy[j]) * y[j];
            for (int64_t j = 0; j < cols; ++j) dx[j] = static_cast<float>(y[j] * (dy[j] - s));
        }
    }
}

// loss = mean over rows of -sum_j target_j * log softmax(x)_j,
// target = (1 - s) onehot(label) + s / classes.
void xent_forward_ref(const XentArgs &a) {
    const int64_t n = a.d.n, k = a.d.classes;
    const double s = a.d.smoothing, off = s / k, on = 1.0 - s + off;
    double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (n * k >= (1 << 14))
    for (int64_t r = 0; r < n; ++r) {
        const float *x = a.in + r * k;
        float *p = a.out + r * k;
        float mx = x[0];
        for (int64_t j = 1; j < k; ++j) mx = std::max(mx, x[j]);
        double sum = 0;
        for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(x[j]) - mx);
        const double lse = mx + std::log(sum);
        const int64_t label = static_cast<int64_t>(a.labels[r]);
        double row = 0;
        for (int64_t j = 0; j < k; ++j) {
            const double logp = x[j] - lse;
            p[j] = static_cast<float>(std::exp(logp));
            row -= (j == label ? on : off) * logp;
        }
        total += row;
    }
    a.loss[0] = static_cast<float>(n > 0 ? total / n : 0.0);
}

void xent_backward_ref(const XentArgs &a) {
    const int64_t n = a.d.n, k = a.d.classes;
    const double s = a.d.smoothing, off = s / k, on = 1.0 - s + off, scale = static_cast<double>(a.dloss) / n;
#pragma omp parallel for schedule(static) if (n * k >= (1 << 14))
    for (int64_t r = 0; r < n; ++r) {
        const int64_t label = static_cast<int64_t>(a.labels[r]);
        for (int64_t j = 0; j < k; ++j)
            a.out[r * k + j] = static_cast<float>(scale * (a.in[r * k + j] - (j == label ? on : off)));
    }
}

bool all_softmax(const dk_softmax_desc &) { return true; }
bool all_xent(const dk_xent_desc &) { return true; }

} // namespace

extern const SoftmaxImpl softmax_forward_ref_impl = {"ref", all_softmax, softmax_forward_ref};
extern const SoftmaxImpl softmax_backward_ref_impl = {"ref", all_softmax, softmax_backward_ref};
extern const XentImpl xent_forward_ref_impl = {"ref", all_xent, xent_forward_ref};
extern const XentImpl xent_backward_ref_impl = {"ref", all_xent, xent_backward_ref};

} // namespace dk

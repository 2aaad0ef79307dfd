// Softmax, log-softmax and the fused softmax cross-entropy on the CPU in float, forward and
// backward side by side. Rows are independent and split between the threads; each row's loops
// are vectorized per ISA (cpu/isa_clones.h) with the polynomial exp of cpu/vec_exp.h. Row sums
// are cpu/blocked_sum.h's: float across SIMD lanes, double across blocks.
#include "core/train_ops.h"
#include "cpu/blocked_sum.h"
#include "cpu/isa_clones.h"
#include "cpu/vec_exp.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dk {

namespace {

// max(x): 16 running maxima in a GCC vector (one zmm on AVX-512, four xmm on the baseline; GCC
// vectorizes neither an OpenMP max reduction nor the 16-lane loop by itself without
// -ffinite-math-only), then the tail. A NaN is skipped here and reaches the output through
// exp(NaN - max), as in the reference.
DK_CLONE_BODY float row_max_body(const float *x, int64_t n) {
    typedef float v16 __attribute__((vector_size(64)));
    v16 m = {};
    m += x[0];
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 v;
        std::memcpy(&v, x + i, sizeof v);
        m = v > m ? v : m;
    }
    float r = x[0];
    for (int j = 0; j < 16; ++j) r = m[j] > r ? m[j] : r;
    for (; i < n; ++i) r = x[i] > r ? x[i] : r;
    return r;
}
// y = exp(x - shift); returns sum(y).
DK_CLONE_BODY double exp_shifted_body(float *y, const float *x, int64_t n, float shift) {
    return blocked_sum(n, [=](int64_t i) { return y[i] = vec_expf(x[i] - shift); });
}
// sum(a * b), or sum(a) when b is null.
DK_CLONE_BODY double dot_body(const float *a, const float *b, int64_t n) {
    if (!b) return blocked_sum(n, [=](int64_t i) { return a[i]; });
    return blocked_sum(n, [=](int64_t i) { return a[i] * b[i]; });
}
DK_CLONE_BODY void scale_body(float *y, int64_t n, float a) {
    for (int64_t i = 0; i < n; ++i) y[i] *= a;
}
// y = (x - a) - b: x - max is exact for the largest entries, so log-softmax keeps their digits
DK_CLONE_BODY void subtract_twice_body(float *y, const float *x, int64_t n, float a, float b) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - a) - b;
}
// softmax backward: dx = y (dy - s)
DK_CLONE_BODY void softmax_grad_body(float *dx, const float *dy, const float *y, int64_t n, float s) {
    for (int64_t i = 0; i < n; ++i) dx[i] = y[i] * (dy[i] - s);
}
// log-softmax backward: dx = dy - exp(y) s
DK_CLONE_BODY void log_softmax_grad_body(float *dx, const float *dy, const float *y, int64_t n, float s) {
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] - vec_expf(y[i]) * s;
}
// y = a * (x - off)
DK_CLONE_BODY void scaled_offset_body(float *y, const float *x, int64_t n, float a, float off) {
    for (int64_t i = 0; i < n; ++i) y[i] = a * (x[i] - off);
}
DK_ISA_CLONES_RETURNING(float, row_max, (const float *x, int64_t n), (x, n))
DK_ISA_CLONES_RETURNING(double, exp_shifted, (float *y, const float *x, int64_t n, float shift), (y, x, n, shift))
DK_ISA_CLONES_RETURNING(double, dot, (const float *a, const float *b, int64_t n), (a, b, n))
DK_ISA_CLONES(scale, (float *y, int64_t n, float a), (y, n, a))
DK_ISA_CLONES(subtract_twice, (float *y, const float *x, int64_t n, float a, float b), (y, x, n, a, b))
DK_ISA_CLONES(softmax_grad, (float *dx, const float *dy, const float *y, int64_t n, float s), (dx, dy, y, n, s))
DK_ISA_CLONES(log_softmax_grad, (float *dx, const float *dy, const float *y, int64_t n, float s), (dx, dy, y, n, s))
DK_ISA_CLONES(scaled_offset, (float *y, const float *x, int64_t n, float a, float off), (y, x, n, a, off))

constexpr int64_t kSerialBelow = 1 << 14;

// One row: y = x - lse (log) or exp(x - lse); returns lse = max + log(sum exp(x - max)).
// y may be x. Softmax stores the exponentials in y and scales them; log-softmax sums them in a
// block on the stack (y may be x, which it must still read) and then writes x - lse.
double softmax_row(float *y, const float *x, int64_t n, bool log) {
    const float mx = row_max(x, n);
    if (log) {
        double sum = 0;
        for (int64_t b = 0; b < n; b += kSumBlock) {
            float tmp[kSumBlock];
            const int64_t m = std::min(kSumBlock, n - b);
            sum += exp_shifted(tmp, x + b, m, mx);
        }
        const double log_sum = std::log(sum);
        subtract_twice(y, x, n, mx, static_cast<float>(log_sum));
        return mx + log_sum;
    }
    const double sum = exp_shifted(y, x, n, mx);
    scale(y, n, static_cast<float>(1.0 / sum));
    return mx + std::log(sum);
}

void softmax_forward_cpu(const SoftmaxArgs &a) {
    const int64_t cols = a.d.cols;
#pragma omp parallel for schedule(static) if (a.d.rows * cols >= kSerialBelow)
    for (int64_t r = 0; r < a.d.rows; ++r) softmax_row(a.y + r * cols, a.x + r * cols, cols, a.d.log);
}

void softmax_backward_cpu(const SoftmaxArgs &a) {
    const int64_t cols = a.d.cols;
#pragma omp parallel for schedule(static) if (a.d.rows * cols >= kSerialBelow)
    for (int64_t r = 0; r < a.d.rows; ++r) {
        const float *dy = a.x + r * cols, *y = a.y2 + r * cols;
        float *dx = a.y + r * cols;
        if (a.d.log)
            log_softmax_grad(dx, dy, y, cols, static_cast<float>(dot(dy, nullptr, cols)));
        else
            softmax_grad(dx, dy, y, cols, static_cast<float>(dot(dy, y, cols)));
    }
}

// loss = mean over rows of -sum_j t_j log p_j with t = off everywhere and on at the label:
// -sum_j t_j log p_j = -(off sum_j log p_j + (on - off) log p_label), sum_j log p_j = sum_j x_j - k lse.
void xent_forward_cpu(const XentArgs &a) {
    const int64_t n = a.d.n, k = a.d.classes;
    const double s = a.d.smoothing, off = s / k, on = 1.0 - s + off;
    double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (n * k >= kSerialBelow)
    for (int64_t r = 0; r < n; ++r) {
        const float *x = a.in + r * k;
        const double lse = softmax_row(a.out + r * k, x, k, false);
        const int64_t label = static_cast<int64_t>(a.labels[r]);
        const double logp_label = x[label] - lse;
        total -= (on - off) * logp_label + (off != 0 ? off * (dot(x, nullptr, k) - k * lse) : 0.0);
    }
    a.loss[0] = static_cast<float>(n > 0 ? total / n : 0.0);
}

// dlogits = dloss / n * (probs - t).
void xent_backward_cpu(const XentArgs &a) {
    const int64_t n = a.d.n, k = a.d.classes;
    const double s = a.d.smoothing, off = s / k, on = 1.0 - s + off, g = static_cast<double>(a.dloss) / n;
#pragma omp parallel for schedule(static) if (n * k >= kSerialBelow)
    for (int64_t r = 0; r < n; ++r) {
        float *dx = a.out + r * k;
        const float *p = a.in + r * k;
        scaled_offset(dx, p, k, static_cast<float>(g), static_cast<float>(off));
        const int64_t label = static_cast<int64_t>(a.labels[r]);
        dx[label] = static_cast<float>(g * (p[label] - on));
    }
}

bool all_softmax(const dk_softmax_desc &) { return true; }
bool all_xent(const dk_xent_desc &) { return true; }

} // namespace

extern const SoftmaxImpl softmax_forward_cpu_impl = {"cpu", all_softmax, softmax_forward_cpu};
extern const SoftmaxImpl softmax_backward_cpu_impl = {"cpu", all_softmax, softmax_backward_cpu};
extern const XentImpl xent_forward_cpu_impl = {"cpu", all_xent, xent_forward_cpu};
extern const XentImpl xent_backward_cpu_impl = {"cpu", all_xent, xent_backward_cpu};

} // namespace dk

// Activations on the CPU in float, forward and backward side by side: the loops are split
// between the threads in contiguous chunks and vectorized per ISA (cpu/isa_clones.h). ReLU and
// leaky ReLU are selects; sigmoid, tanh, GELU
// and softplus are built on the polynomial exp of cpu/vec_exp.h (and a log1p of our own) so that
// they vectorize too: libm's expf/tanhf/erff/log1pf would run one element at a time.
#include "core/train_ops.h"
#include "cpu/isa_clones.h"
#include "cpu/parallel.h"
#include "cpu/vec_exp.h"

#include <algorithm>
#include <cmath>

namespace dk {

namespace {

constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

// sigmoid(x) = 1 / (1 + exp(-x)) and its derivative e / (1 + e)^2, both from e = exp(-|x|):
// nothing overflows, and the derivative keeps its relative precision where 1 - s would round to 0.
static inline __attribute__((always_inline)) float sigmoid(float x) {
    const float e = vec_expf(-std::fabs(x));
    return x >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
}
static inline __attribute__((always_inline)) float sigmoid_derivative(float x) {
    const float e = vec_expf(-std::fabs(x)), d = 1.0f + e;
    return e / (d * d);
}
// tanh: below |x| = 0.3 its odd Taylor polynomial to x^9 (the next term is under 6e-8 relative
// there), above it 1 - 2 / (exp(2|x|) + 1) with the sign of x (within a few ulp of tanh). The
// derivative 1 - tanh^2 is 4 e / (1 + e)^2 with e = exp(-2|x|) above 0.3, where 1 - t^2 cancels.
static inline __attribute__((always_inline)) float tanh_small(float x) {
    const float x2 = x * x;
    return x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835)))));
}
static inline __attribute__((always_inline)) float tanh_vec(float x) {
    const float big = 1.0f - 2.0f / (vec_expf(2.0f * std::fabs(x)) + 1.0f);
    return std::fabs(x) < 0.3f ? tanh_small(x) : std::copysign(big, x);
}
static inline __attribute__((always_inline)) float tanh_derivative(float x) {
    const float t = tanh_small(x), e = vec_expf(-2.0f * std::fabs(x)), d = 1.0f + e;
    return std::fabs(x) < 0.3f ? 1.0f - t * t : 4.0f * e / (d * d);
}
// log(1 + e) for e in [0, 1], vectorizable: u = 1 + e is split as 2^k m with m in
// [sqrt(1/2), sqrt 2), log m = 2 atanh(s) with s = (m - 1) / (m + 1), |s| < 0.172, by its series to
// s^9 (the next term is below 3e-9 relative); then log1p(e) = log(u) e / (u - 1), which cancels the
// rounding of 1 + e (Goldberg's trick), and e itself where 1 + e rounds to 1.
static inline __attribute__((always_inline)) float log1p_unit(float e) {
    constexpr float kSqrt2 = 1.41421356237309505f, kLn2 = 0.69314718055994531f;
    const float u = 1.0f + e;
    const bool halve = u > kSqrt2;
    const float m = halve ? 0.5f * u : u, s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    const float log_m = 2.0f * s * (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9)))));
    const float log_u = (halve ? kLn2 : 0.0f) + log_m;
    return u == 1.0f ? e : log_u * e / (u - 1.0f);
}
// softplus(x) = max(x, 0) + log(1 + exp(-|x|)): never overflows.
DK_CLONE_BODY void softplus_forward_body(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.0f) + log1p_unit(vec_expf(-std::fabs(x[i])));
}
// Phi(x), the standard normal CDF, from erfc(|x| / sqrt 2) by the Chebyshev fit of Numerical
// Recipes (erfcc: fractional error below 1.2e-7 for every argument), so the lower tail keeps
// relative precision where 1 + erf(x / sqrt 2) would cancel: a few ulp for |x| < 5, and up to
// 1.6e-5 relative in the far lower tail (x near -13, Phi ~ 1e-38), where the float z^2 inside the
// exp rounds.
static inline __attribute__((always_inline)) float normal_cdf(float x) {
    const float z = std::fabs(x) * kInvSqrt2, t = 1.0f / (1.0f + 0.5f * z);
    const float p =
        -1.26551223f +
        t * (1.00002368f +
             t * (0.37409196f +
                  t * (0.09678418f +
                       t * (-0.18628806f +
                            t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
    const float erfc = t * vec_expf(-z * z + p);
    return x >= 0 ? 1.0f - 0.5f * erfc : 0.5f * erfc;
}

DK_CLONE_BODY void relu_forward_body(float *y, const float *x, int64_t n, float alpha) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
}
DK_CLONE_BODY void relu_backward_body(float *dx, const float *dy, const float *x, int64_t n, float alpha) {
    for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : alpha * dy[i];
}
DK_CLONE_BODY void sigmoid_forward_body(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
}
DK_CLONE_BODY void sigmoid_backward_body(float *dx, const float *dy, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * sigmoid_derivative(x[i]);
}
// softplus' derivative is the sigmoid
DK_CLONE_BODY void softplus_backward_body(float *dx, const float *dy, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * sigmoid(x[i]);
}
DK_CLONE_BODY void tanh_forward_body(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = tanh_vec(x[i]);
}
DK_CLONE_BODY void tanh_backward_body(float *dx, const float *dy, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * tanh_derivative(x[i]);
}
// GELU = x Phi(x); its derivative Phi(x) + x phi(x), phi the normal density.
DK_CLONE_BODY void gelu_forward_body(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * normal_cdf(x[i]);
}
DK_CLONE_BODY void gelu_backward_body(float *dx, const float *dy, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        dx[i] = dy[i] * (normal_cdf(v) + v * kInvSqrt2Pi * vec_expf(-0.5f * v * v));
    }
}
DK_ISA_CLONES(relu_forward, (float *y, const float *x, int64_t n, float alpha), (y, x, n, alpha))
DK_ISA_CLONES(relu_backward, (float *dx, const float *dy, const float *x, int64_t n, float alpha), (dx, dy, x, n, alpha))
DK_ISA_CLONES(sigmoid_forward, (float *y, const float *x, int64_t n), (y, x, n))
DK_ISA_CLONES(sigmoid_backward, (float *dx, const float *dy, const float *x, int64_t n), (dx, dy, x, n))
DK_ISA_CLONES(softplus_forward, (float *y, const float *x, int64_t n), (y, x, n))
DK_ISA_CLONES(softplus_backward, (float *dx, const float *dy, const float *x, int64_t n), (dx, dy, x, n))
DK_ISA_CLONES(tanh_forward, (float *y, const float *x, int64_t n), (y, x, n))
DK_ISA_CLONES(tanh_backward, (float *dx, const float *dy, const float *x, int64_t n), (dx, dy, x, n))
DK_ISA_CLONES(gelu_forward, (float *y, const float *x, int64_t n), (y, x, n))
DK_ISA_CLONES(gelu_backward, (float *dx, const float *dy, const float *x, int64_t n), (dx, dy, x, n))

// y[0, n) = f(x).
void forward_chunk(int alg, float alpha, float *y, const float *x, int64_t n) {
    switch (alg) {
    case DK_ELTWISE_RELU: relu_forward(y, x, n, 0.0f); break;
    case DK_ELTWISE_LEAKY_RELU: relu_forward(y, x, n, alpha); break;
    case DK_ELTWISE_SIGMOID: sigmoid_forward(y, x, n); break;
    case DK_ELTWISE_TANH: tanh_forward(y, x, n); break;
    case DK_ELTWISE_GELU: gelu_forward(y, x, n); break;
    case DK_ELTWISE_SOFTPLUS: softplus_forward(y, x, n); break;
    case DK_ELTWISE_RSQRT: for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / std::sqrt(x[i] + alpha); break;
    }
}

// dx[0, n) = dy * f'(x).
void backward_chunk(int alg, float alpha, float *dx, const float *dy, const float *x, int64_t n) {
    switch (alg) {
    case DK_ELTWISE_RELU: relu_backward(dx, dy, x, n, 0.0f); break;
    case DK_ELTWISE_LEAKY_RELU: relu_backward(dx, dy, x, n, alpha); break;
    case DK_ELTWISE_SIGMOID: sigmoid_backward(dx, dy, x, n); break;
    case DK_ELTWISE_TANH: tanh_backward(dx, dy, x, n); break;
    case DK_ELTWISE_GELU: gelu_backward(dx, dy, x, n); break;
    case DK_ELTWISE_SOFTPLUS: softplus_backward(dx, dy, x, n); break;
    }
}

constexpr int64_t kSerialBelow = 1 << 15;

void eltwise_forward_cpu(const EltwiseArgs &a) {
    parallel_chunks(a.d.n, kSerialBelow, [&](int64_t b, int64_t n) { forward_chunk(a.d.alg, a.d.alpha, a.y + b, a.x + b, n); });
}

void eltwise_backward_cpu(const EltwiseArgs &a) {
    parallel_chunks(a.d.n, kSerialBelow, [&](int64_t b, int64_t n) { backward_chunk(a.d.alg, a.d.alpha, a.y + b, a.x + b, a.x2 + b, n); });
}

bool all_eltwise(const dk_eltwise_desc &) { return true; }

} // namespace

extern const EltwiseImpl eltwise_forward_cpu_impl = {"cpu", all_eltwise, eltwise_forward_cpu};
extern const EltwiseImpl eltwise_backward_cpu_impl = {"cpu", all_eltwise, eltwise_backward_cpu};

} // namespace dk

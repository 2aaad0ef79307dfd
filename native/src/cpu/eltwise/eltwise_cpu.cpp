// Activations on the CPU in float, forward and backward side by side: the loops are split
// between the threads in contiguous chunks and vectorized per ISA (cpu/isa_clones.h). ReLU and
// leaky ReLU — what CNNs run — vectorize fully; the transcendental ones call libm's float
// functions element by element.
#include "core/train_ops.h"
#include "cpu/isa_clones.h"
#include "cpu/parallel.h"

#include <algorithm>
#include <cmath>

namespace dk {

namespace {

float sigmoid(float x) {
    const float e = std::exp(-std::fabs(x)); // never overflows
    return x >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

DK_CLONE_BODY void relu_forward_body(float *y, const float *x, int64_t n, float alpha) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
}
DK_CLONE_BODY void relu_backward_body(float *dx, const float *dy, const float *x, int64_t n, float alpha) {
    for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : alpha * dy[i];
}
DK_ISA_CLONES(relu_forward, (float *y, const float *x, int64_t n, float alpha), (y, x, n, alpha))
DK_ISA_CLONES(relu_backward, (float *dx, const float *dy, const float *x, int64_t n, float alpha), (dx, dy, x, n, alpha))

// y[0, n) = f(x) for the transcendental activations.
void forward_chunk(int alg, float alpha, float *y, const float *x, int64_t n) {
    switch (alg) {
    case DK_ELTWISE_RELU: relu_forward(y, x, n, 0.0f); break;
    case DK_ELTWISE_LEAKY_RELU: relu_forward(y, x, n, alpha); break;
    case DK_ELTWISE_SIGMOID: for (int64_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]); break;
    case DK_ELTWISE_TANH: for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]); break;
    case DK_ELTWISE_GELU:
        for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kInvSqrt2));
        break;
    case DK_ELTWISE_SOFTPLUS:
        for (int64_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.0f) + std::log1p(std::exp(-std::fabs(x[i])));
        break;
    case DK_ELTWISE_RSQRT: for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / std::sqrt(x[i] + alpha); break;
    }
}

// dx[0, n) = dy * f'(x).
void backward_chunk(int alg, float alpha, float *dx, const float *dy, const float *x, int64_t n) {
    switch (alg) {
    case DK_ELTWISE_RELU: relu_backward(dx, dy, x, n, 0.0f); break;
    case DK_ELTWISE_LEAKY_RELU: relu_backward(dx, dy, x, n, alpha); break;
    case DK_ELTWISE_SIGMOID:
        for (int64_t i = 0; i < n; ++i) {
            const float s = sigmoid(x[i]);
            dx[i] = dy[i] * s * (1.0f - s);
        }
        break;
    case DK_ELTWISE_TANH:
        for (int64_t i = 0; i < n; ++i) {
            const float t = std::tanh(x[i]);
            dx[i] = dy[i] * (1.0f - t * t);
        }
        break;
    case DK_ELTWISE_GELU:
        for (int64_t i = 0; i < n; ++i) {
            const float v = x[i];
            dx[i] = dy[i] * (0.5f * (1.0f + std::erf(v * kInvSqrt2)) + v * kInvSqrt2Pi * std::exp(-0.5f * v * v));
        }
        break;
    case DK_ELTWISE_SOFTPLUS: for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * sigmoid(x[i]); break;
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

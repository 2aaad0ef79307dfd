// Reference activations, forward and backward side by side, and the dropout mask.
#include "core/train_ops.h"

#include <cmath>

namespace dk {

namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }

// f(x)
double forward(int alg, double x, double alpha) {
    switch (alg) {
    case DK_ELTWISE_RELU: return x > 0 ? x : 0.0;
    case DK_ELTWISE_LEAKY_RELU: return x > 0 ? x : alpha * x;
    case DK_ELTWISE_SIGMOID: return sigmoid(x);
    case DK_ELTWISE_TANH: return std::tanh(x);
    case DK_ELTWISE_GELU: return 0.5 * x * (1.0 + std::erf(x * kInvSqrt2));
    case DK_ELTWISE_SOFTPLUS: return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)));
    case DK_ELTWISE_RSQRT: return 1.0 / std::sqrt(x + alpha);
    }
    return 0.0;
}

// f'(x)
double derivative(int alg, double x, double alpha) {
    switch (alg) {
    case DK_ELTWISE_RELU: return x > 0 ? 1.0 : 0.0;
    case DK_ELTWISE_LEAKY_RELU: return x > 0 ? 1.0 : alpha;
    case DK_ELTWISE_SIGMOID: {
        const double s = sigmoid(x);
        return s * (1.0 - s);
    }
    case DK_ELTWISE_TANH: {
        const double t = std::tanh(x);
        return 1.0 - t * t;
    }
    case DK_ELTWISE_GELU: return 0.5 * (1.0 + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
    case DK_ELTWISE_SOFTPLUS: return sigmoid(x);
    }
    return 0.0;
}

void eltwise_forward_ref(const EltwiseArgs &a) {
    const int alg = a.d.alg;
    const double alpha = a.d.alpha;
#pragma omp parallel for schedule(static) if (a.d.n >= (1 << 15))
    for (int64_t i = 0; i < a.d.n; ++i) a.y[i] = static_cast<float>(forward(alg, a.x[i], alpha));
}

void eltwise_backward_ref(const EltwiseArgs &a) {
    const int alg = a.d.alg;
    const double alpha = a.d.alpha;
#pragma omp parallel for schedule(static) if (a.d.n >= (1 << 15))
    for (int64_t i = 0; i < a.d.n; ++i) a.y[i] = static_cast<float>(a.x[i] * derivative(alg, a.x2[i], alpha));
}

void dropout_ref(const DropoutArgs &a) {
    const float keep = 1.0f / (1.0f - a.d.p);
    for (int64_t i = 0; i < a.d.n; ++i) a.mask[i] = dropout_uniform(a.d.seed, static_cast<uint64_t>(i)) < a.d.p ? 0.0f : keep;
}

bool all_eltwise(const dk_eltwise_desc &) { return true; }
bool all_dropout(const dk_dropout_desc &) { return true; }

} // namespace

extern const EltwiseImpl eltwise_forward_ref_impl = {"ref", all_eltwise, eltwise_forward_ref};
extern const EltwiseImpl eltwise_backward_ref_impl = {"ref", all_eltwise, eltwise_backward_ref};
extern const DropoutImpl dropout_ref_impl = {"ref", all_dropout, dropout_ref};

} // namespace dk

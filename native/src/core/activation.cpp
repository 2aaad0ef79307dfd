// The activations of fused epilogues, as every CPU implementation applies them: ReLU, and GELU in
// its tanh form (deepkern.h). Plain float code for the x86-64 baseline; tanh is computed from
// exp with a polynomial so the loop over a tile has no library call.
#include "matmul.h"

#include <cmath>
#include <cstring>

namespace dk {

namespace {

// tanh(x) = sign(x) (1 - 2 / (exp(2 |x|) + 1)); exp(z) = 2^n exp(r), |r| <= ln 2 / 2, with a
// degree-6 Taylor polynomial for exp(r) (relative error < 3e-8 there). |x| is clamped at 9, where
// tanh is 1 in float. Absolute error about 1e-7.
inline float tanh_approx(float x) {
    const float ax = std::fmin(std::fabs(x), 9.0f), z = 2.0f * ax;
    const int n = static_cast<int>(z * 1.44269504f + 0.5f); // z >= 0: truncation rounds
    const float r = z - static_cast<float>(n) * 0.693145751953125f - static_cast<float>(n) * 1.42860677e-06f;
    const float p =
        1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    const int32_t bits = (n + 127) << 23;
    float two_n;
    std::memcpy(&two_n, &bits, sizeof two_n);
    const float t = 1.0f - 2.0f / (p * two_n + 1.0f);
    return std::copysign(t, x);
}

inline float gelu(float x) {
    return 0.5f * x * (1.0f + tanh_approx(0.7978845608f * (x + 0.044715f * x * x * x)));
}

} // namespace

float activate(int32_t activation, float x) {
    switch (activation) {
    case DK_ACTIVATION_RELU: return x > 0.0f ? x : 0.0f;
    case DK_ACTIVATION_GELU: return gelu(x);
    default: return x;
    }
}

void bias_activation(float *c, int64_t ldc, int64_t rows, int64_t cols, const float *bias, int32_t activation) {
    for (int64_t i = 0; i < rows; ++i) {
        float *row = c + i * ldc;
        if (bias)
            for (int64_t j = 0; j < cols; ++j) row[j] += bias[j];
        switch (activation) {
        case DK_ACTIVATION_RELU:
            for (int64_t j = 0; j < cols; ++j) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
            break;
        case DK_ACTIVATION_GELU:
            for (int64_t j = 0; j < cols; ++j) row[j] = gelu(row[j]);
            break;
        default: break;
        }
    }
}

// The same with one bias per row (a convolution's output channels are the rows of its GEMM).
void bias_rows_activation(float *c, int64_t ldc, int64_t rows, int64_t cols, const float *bias, int32_t activation) {
    for (int64_t i = 0; i < rows; ++i) {
        const float b = bias ? bias[i] : 0.0f;
        float *row = c + i * ldc;
        if (bias)
            for (int64_t j = 0; j < cols; ++j) row[j] += b;
        bias_activation(row, ldc, 1, cols, nullptr, activation);
    }
}

} // namespace dk

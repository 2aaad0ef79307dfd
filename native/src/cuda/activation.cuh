// The activation functions and their derivatives, shared by the GEMM epilogue (NONE .. TANH) and
// activation.cu (every dkc_act; alpha is LEAKY_RELU's slope and RSQRT's epsilon).
#pragma once

#include "dk_cuda_rt.h"

#include <math.h>

// GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
constexpr float DK_GELU_K = 0.7978845608028654f;
constexpr float DK_GELU_C = 0.044715f;
constexpr float DK_INV_SQRT2 = 0.70710678118654752f, DK_INV_SQRT_2PI = 0.39894228040143268f;

// 1 / (1 + exp(-x)) without overflow for either sign.
__device__ __forceinline__ float dk_sigmoid(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    const float e = expf(x);
    return e / (1.0f + e);
}

__device__ __forceinline__ float dk_act_forward(int act, float x, float alpha = 0.0f) {
    switch (act) {
    case DKC_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case DKC_ACT_GELU: return 0.5f * x * (1.0f + tanhf(DK_GELU_K * (x + DK_GELU_C * x * x * x)));
    case DKC_ACT_SIGMOID: return dk_sigmoid(x);
    case DKC_ACT_TANH: return tanhf(x);
    case DKC_ACT_LEAKY_RELU: return x > 0.0f ? x : alpha * x;
    case DKC_ACT_GELU_ERF: return 0.5f * x * (1.0f + erff(x * DK_INV_SQRT2));
    case DKC_ACT_SOFTPLUS: return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
    case DKC_ACT_RSQRT: return 1.0f / sqrtf(x + alpha);
    default: return x;
    }
}

// d act(x) / dx.
__device__ __forceinline__ float dk_act_derivative(int act, float x, float alpha = 0.0f) {
    switch (act) {
    case DKC_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case DKC_ACT_GELU: {
        const float th = tanhf(DK_GELU_K * (x + DK_GELU_C * x * x * x));
        return 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * DK_GELU_K * (1.0f + 3.0f * DK_GELU_C * x * x);
    }
    case DKC_ACT_SIGMOID: {
        const float s = dk_sigmoid(x);
        return s * (1.0f - s);
    }
    case DKC_ACT_TANH: {
        const float t = tanhf(x);
        return 1.0f - t * t;
    }
    case DKC_ACT_LEAKY_RELU: return x > 0.0f ? 1.0f : alpha;
    case DKC_ACT_GELU_ERF: return 0.5f * (1.0f + erff(x * DK_INV_SQRT2)) + x * DK_INV_SQRT_2PI * expf(-0.5f * x * x);
    case DKC_ACT_SOFTPLUS: return dk_sigmoid(x);
    case DKC_ACT_RSQRT: {
        const float r = 1.0f / sqrtf(x + alpha);
        return -0.5f * r * r * r;
    }
    default: return 1.0f;
    }
}

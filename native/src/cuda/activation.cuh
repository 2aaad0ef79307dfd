// The activation functions and their derivatives, shared by the GEMM epilogue and activation.cu.
#pragma once

#include "dk_cuda_rt.h"

#include <math.h>

// GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
constexpr float DK_GELU_K = 0.7978845608028654f;
constexpr float DK_GELU_C = 0.044715f;

__device__ __forceinline__ float dk_act_forward(int act, float x) {
    switch (act) {
    case DKC_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case DKC_ACT_GELU: return 0.5f * x * (1.0f + tanhf(DK_GELU_K * (x + DK_GELU_C * x * x * x)));
    case DKC_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case DKC_ACT_TANH: return tanhf(x);
    default: return x;
    }
}

// d act(x) / dx.
__device__ __forceinline__ float dk_act_derivative(int act, float x) {
    switch (act) {
    case DKC_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case DKC_ACT_GELU: {
        const float th = tanhf(DK_GELU_K * (x + DK_GELU_C * x * x * x));
        return 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * DK_GELU_K * (1.0f + 3.0f * DK_GELU_C * x * x);
    }
    case DKC_ACT_SIGMOID: {
        const float s = 1.0f / (1.0f + expf(-x));
        return s * (1.0f - s);
    }
    case DKC_ACT_TANH: {
        const float t = tanhf(x);
        return 1.0f - t * t;
    }
    default: return 1.0f;
    }
}

// Fused optimizer steps: one pass over param, grad and the state (Adam: 5 floats read/written per
// element, 20 bytes, at memory bandwidth), grid-stride loops, in place. One kernel for every
// algorithm of dk_optimizer_step: the formulas of the reference (native/src/ref/optim_ref.cpp).
#include "dk_cuda_rt.h"

#include <cmath>
#include <math.h>

namespace {

constexpr int THREADS = 256;

// The descriptor's scalars as the kernel uses them (bias corrections computed once, in double).
struct Optim {
    int alg;
    int nesterov;
    float lr, momentum, beta1, beta2, eps, weight_decay, l1;
    float bc1, bc2; // 1 - beta^step (Adam, AdamW)
};

__global__ __launch_bounds__(THREADS) void optimizer_kernel(const Optim o, float *param, float *s1, float *s2,
                                                            const float *grad, int64_t n) {
    const bool decoupled = o.alg == DK_OPTIM_ADAMW;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        float p = param[i];
        float g = grad[i];
        if (o.l1 != 0.0f) g += o.l1 * static_cast<float>((p > 0.0f) - (p < 0.0f));
        if (!decoupled) g += o.weight_decay * p;
        if (o.alg == DK_OPTIM_SGD) {
            if (o.momentum > 0.0f) {
                const float v = o.momentum * s1[i] + g;
                s1[i] = v;
                g = o.nesterov ? g + o.momentum * v : v;
            }
            p -= o.lr * g;
        } else if (o.alg == DK_OPTIM_RMSPROP) {
            const float s = o.beta2 * s2[i] + (1.0f - o.beta2) * g * g;
            s2[i] = s;
            const float step = g / (sqrtf(s) + o.eps);
            if (o.momentum > 0.0f) {
                const float b = o.momentum * s1[i] + step;
                s1[i] = b;
                p -= o.lr * b;
            } else {
                p -= o.lr * step;
            }
        } else { // Adam, AdamW
            if (decoupled) p -= o.lr * o.weight_decay * p;
            const float m = o.beta1 * s1[i] + (1.0f - o.beta1) * g;
            const float v = o.beta2 * s2[i] + (1.0f - o.beta2) * g * g;
            s1[i] = m;
            s2[i] = v;
            p -= o.lr * (m / o.bc1) / (sqrtf(v / o.bc2) + o.eps);
        }
        param[i] = p;
    }
}

unsigned grid_for(int64_t n) {
    const int64_t blocks = (n + THREADS - 1) / THREADS;
    return static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
}

} // namespace

extern "C" int dkc_optimizer_step(const dk_optim_desc *d, float *param, float *state1, float *state2,
                                  const float *grad, dkc_stream stream) {
    DKC_NOT_NULL(d);
    const char *op = d->alg == DK_OPTIM_SGD ? "sgd" : d->alg == DK_OPTIM_ADAM ? "adam"
                   : d->alg == DK_OPTIM_ADAMW ? "adamw" : "rmsprop";
    DKC_REQUIRE(d->alg >= DK_OPTIM_SGD && d->alg <= DK_OPTIM_RMSPROP, "optimizer: alg (%d) is not a dk_optim_alg",
                d->alg);
    DKC_REQUIRE(d->n >= 0, "%s: n (%lld) must be >= 0", op, (long long)d->n);
    DKC_REQUIRE(d->lr >= 0.0f && d->weight_decay >= 0.0f && d->l1 >= 0.0f,
                "%s: lr (%g), weight_decay (%g) and l1 (%g) must be >= 0", op, d->lr, d->weight_decay, d->l1);
    DKC_REQUIRE(d->momentum >= 0.0f && d->momentum < 1.0f, "%s: momentum (%g) must be in [0, 1)", op, d->momentum);
    const bool adam = d->alg == DK_OPTIM_ADAM || d->alg == DK_OPTIM_ADAMW;
    if (adam) {
        DKC_REQUIRE(d->step >= 1, "%s: step (%lld) must be >= 1 (the first step is 1)", op, (long long)d->step);
        DKC_REQUIRE(d->beta1 >= 0.0f && d->beta1 < 1.0f, "%s: beta1 (%g) must be in [0, 1)", op, d->beta1);
    }
    if (d->alg != DK_OPTIM_SGD) {
        DKC_REQUIRE(d->beta2 >= 0.0f && d->beta2 < 1.0f, "%s: beta2 (%g) must be in [0, 1)", op, d->beta2);
        DKC_REQUIRE(d->eps > 0.0f, "%s: eps (%g) must be > 0", op, d->eps);
    }
    const bool uses1 = adam || d->momentum > 0.0f, uses2 = d->alg != DK_OPTIM_SGD;
    DKC_REQUIRE(!uses1 || state1, "%s: state1 (the %s) must not be null", op,
                adam ? "first moment" : "momentum_buf");
    DKC_REQUIRE(!uses2 || state2, "%s: state2 (the %s) must not be null", op,
                adam ? "second moment" : "mean square");
    if (d->n == 0) return DK_OK;
    DKC_NOT_NULL(param);
    DKC_NOT_NULL(grad);
    const Optim o{d->alg, d->nesterov, d->lr, d->momentum, d->beta1, d->beta2, d->eps, d->weight_decay, d->l1,
                  static_cast<float>(1.0 - std::pow(static_cast<double>(d->beta1), static_cast<double>(d->step))),
                  static_cast<float>(1.0 - std::pow(static_cast<double>(d->beta2), static_cast<double>(d->step)))};
    DK_LAUNCH(optimizer_kernel, dim3(grid_for(d->n)), dim3(THREADS), 0, static_cast<cudaStream_t>(stream), o, param,
              state1, state2, grad, d->n);
    return dkc::launched("optimizer_kernel");
}

extern "C" int dkc_adamw_step(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                              float beta2, float eps, float weight_decay, int64_t step, dkc_stream stream) {
    dk_optim_desc d{};
    d.alg = DK_OPTIM_ADAMW, d.n = n, d.lr = lr, d.beta1 = beta1, d.beta2 = beta2, d.eps = eps;
    d.weight_decay = weight_decay, d.step = step;
    return dkc_optimizer_step(&d, param, m, v, grad, stream);
}

extern "C" int dkc_sgd_step(float *param, float *momentum_buf, const float *grad, int64_t n, float lr, float momentum,
                            float weight_decay, dkc_stream stream) {
    dk_optim_desc d{};
    d.alg = DK_OPTIM_SGD, d.n = n, d.lr = lr, d.momentum = momentum, d.weight_decay = weight_decay;
    return dkc_optimizer_step(&d, param, momentum_buf, nullptr, grad, stream);
}

// Optimizer updates on the CPU: one fused, vectorized pass over a parameter tensor per step,
// one loop per algorithm (the reference, native/src/ref/optim_ref.cpp, switches per element).
// The formulas are PyTorch's and the reference's; Adam's bias corrections fold into two
// per-step constants: p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps).
#include "core/train_ops.h"
#include "cpu/isa_clones.h"
#include "cpu/parallel.h"

#include <cmath>

namespace dk {

namespace {

struct Terms {   // what every algorithm adds to the gradient first
    float l1, wd; // l1 sign(p) + wd p (wd = 0 for AdamW, whose decay is decoupled)
};

DK_CLONE_BODY float regularized(float g, float p, Terms t) {
    return g + t.l1 * static_cast<float>((p > 0.0f) - (p < 0.0f)) + t.wd * p;
}

DK_CLONE_BODY void sgd_body(float *p, float *vel, const float *g, int64_t n, Terms t, float lr, float mom, bool nesterov) {
    if (mom == 0.0f) {
        for (int64_t i = 0; i < n; ++i) p[i] -= lr * regularized(g[i], p[i], t);
        return;
    }
    for (int64_t i = 0; i < n; ++i) {
        const float gi = regularized(g[i], p[i], t), v = mom * vel[i] + gi;
        vel[i] = v;
        p[i] -= lr * (nesterov ? gi + mom * v : v);
    }
}

// decay: AdamW's decoupled factor (1 - lr wd), 1 for Adam.
DK_CLONE_BODY void adam_body(float *p, float *m1, float *m2, const float *g, int64_t n, Terms t, float step,
                             float inv_sqrt_bc2, float eps, float b1, float b2, float decay) {
    for (int64_t i = 0; i < n; ++i) {
        const float gi = regularized(g[i], p[i], t);
        const float m = b1 * m1[i] + (1.0f - b1) * gi, v = b2 * m2[i] + (1.0f - b2) * gi * gi;
        m1[i] = m;
        m2[i] = v;
        p[i] = p[i] * decay - step * m / (std::sqrt(v) * inv_sqrt_bc2 + eps);
    }
}

DK_CLONE_BODY void rmsprop_body(float *p, float *buf, float *sq, const float *g, int64_t n, Terms t, float lr,
                                float mom, float alpha, float eps) {
    for (int64_t i = 0; i < n; ++i) {
        const float gi = regularized(g[i], p[i], t);
        const float s = alpha * sq[i] + (1.0f - alpha) * gi * gi;
        sq[i] = s;
        const float step = gi / (std::sqrt(s) + eps);
        if (mom > 0.0f) {
            const float b = mom * buf[i] + step;
            buf[i] = b;
            p[i] -= lr * b;
        } else {
            p[i] -= lr * step;
        }
    }
}

DK_ISA_CLONES(sgd, (float *p, float *vel, const float *g, int64_t n, Terms t, float lr, float mom, bool nesterov),
              (p, vel, g, n, t, lr, mom, nesterov))
DK_ISA_CLONES(adam, (float *p, float *m1, float *m2, const float *g, int64_t n, Terms t, float step, float inv_sqrt_bc2,
                     float eps, float b1, float b2, float decay),
              (p, m1, m2, g, n, t, step, inv_sqrt_bc2, eps, b1, b2, decay))
DK_ISA_CLONES(rmsprop, (float *p, float *buf, float *sq, const float *g, int64_t n, Terms t, float lr, float mom,
                        float alpha, float eps),
              (p, buf, sq, g, n, t, lr, mom, alpha, eps))

// [begin, begin + n) of the parameter.
void update(const OptimArgs &a, int64_t begin, int64_t n) {
    const dk_optim_desc &d = a.d;
    const bool decoupled = d.alg == DK_OPTIM_ADAMW;
    const Terms t{d.l1, decoupled ? 0.0f : d.weight_decay};
    float *p = a.param + begin;
    const float *g = a.grad + begin;
    auto at = [&](float *s) { return s ? s + begin : nullptr; };
    switch (d.alg) {
    case DK_OPTIM_SGD: sgd(p, at(a.state1), g, n, t, d.lr, d.momentum, d.nesterov != 0); break;
    case DK_OPTIM_ADAM:
    case DK_OPTIM_ADAMW: {
        const double bc1 = 1.0 - std::pow(static_cast<double>(d.beta1), static_cast<double>(d.step));
        const double bc2 = 1.0 - std::pow(static_cast<double>(d.beta2), static_cast<double>(d.step));
        adam(p, at(a.state1), at(a.state2), g, n, t, static_cast<float>(d.lr / bc1), static_cast<float>(1.0 / std::sqrt(bc2)),
             d.eps, d.beta1, d.beta2, decoupled ? 1.0f - d.lr * d.weight_decay : 1.0f);
        break;
    }
    case DK_OPTIM_RMSPROP: rmsprop(p, at(a.state1), at(a.state2), g, n, t, d.lr, d.momentum, d.beta2, d.eps); break;
    }
}

void optimizer_cpu(const OptimArgs &a) {
    parallel_chunks(a.d.n, 1 << 16, [&](int64_t begin, int64_t n) { update(a, begin, n); });
}

bool all(const dk_optim_desc &) { return true; }

} // namespace

extern const OptimImpl optimizer_cpu_impl = {"cpu", all, optimizer_cpu};

} // namespace dk

// Reference optimizer updates: one fused pass over a parameter tensor per step. The formulas
// are PyTorch's (torch.optim.SGD, Adam, AdamW, RMSprop), with an optional L1 term l1 * sign(p)
// added to the gradient. The java backend (org.deepkern.backend.JavaBackend) mirrors them.
#include "core/train_ops.h"

#include <cmath>

namespace dk {

namespace {

void optimizer_ref(const OptimArgs &a) {
    const dk_optim_desc &d = a.d;
    const float lr = d.lr, wd = d.weight_decay, l1 = d.l1, mom = d.momentum;
    const bool decoupled = d.alg == DK_OPTIM_ADAMW;
    const double bc1 = 1.0 - std::pow(static_cast<double>(d.beta1), static_cast<double>(d.step));
    const double bc2 = 1.0 - std::pow(static_cast<double>(d.beta2), static_cast<double>(d.step));
#pragma omp parallel for schedule(static) if (d.n >= (1 << 16))
    for (int64_t i = 0; i < d.n; ++i) {
        float p = a.param[i];
        float g = a.grad[i];
        if (l1 != 0.0f) g += l1 * static_cast<float>((p > 0.0f) - (p < 0.0f));
        if (!decoupled) g += wd * p;
        switch (d.alg) {
        case DK_OPTIM_SGD:
            if (mom > 0.0f) {
                const float v = mom * a.state1[i] + g;
                a.state1[i] = v;
                g = d.nesterov ? g + mom * v : v;
            }
            p -= lr * g;
            break;
        case DK_OPTIM_ADAM:
        case DK_OPTIM_ADAMW: {
            if (decoupled) p -= lr * wd * p;
            const float m = d.beta1 * a.state1[i] + (1.0f - d.beta1) * g;
            const float v = d.beta2 * a.state2[i] + (1.0f - d.beta2) * g * g;
            a.state1[i] = m;
            a.state2[i] = v;
            const double mhat = m / bc1, vhat = v / bc2;
            p -= static_cast<float>(lr * mhat / (std::sqrt(vhat) + d.eps));
            break;
        }
        case DK_OPTIM_RMSPROP: {
            const float s = d.beta2 * a.state2[i] + (1.0f - d.beta2) * g * g;
            a.state2[i] = s;
            const float step = g / (std::sqrt(s) + d.eps);
            if (mom > 0.0f) {
                const float b = mom * a.state1[i] + step;
                a.state1[i] = b;
                p -= lr * b;
            } else {
                p -= lr * step;
            }
            break;
        }
        }
        a.param[i] = p;
    }
}

bool all(const dk_optim_desc &) { return true; }

} // namespace

extern const OptimImpl optimizer_ref_impl = {"ref", all, optimizer_ref};

} // namespace dk

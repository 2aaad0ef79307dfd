// Reference 2-D convolution (cross-correlation, NCHW x OIHW) with stride, asymmetric padding,
// dilation, groups and the fused bias + activation: direct loops in double, the forward, the
// gradient with respect to the input and the gradients of the weights and bias side by side.
//   cg = c / groups input and og = oc / groups output channels per group; output channel o reads
//   input channels [g * cg, (g + 1) * cg) with g = o / og, and w [oc, cg, kh, kw].
// Only the begin padding (pad_h, pad_w) places the taps; the end padding only sets oh and ow.
#include "core/train_ops.h"

#include <cmath>
#include <cstddef>
#include <vector>

namespace dk {

namespace {

// Runs BODY for every kernel tap (ky, kx) of output (oy, ox) that lands inside the input at
// (iy, ix); taps in the padding are skipped.
#define DK_CONV_TAPS(d, oy, ox, BODY)                                                                      \
    for (int64_t ky = 0; ky < (d).kernel_h; ++ky) {                                                       \
        const int64_t iy = (oy) * (d).stride_h - (d).pad_h + ky * (d).dilation_h;                         \
        if (iy < 0 || iy >= (d).h) continue;                                                              \
        for (int64_t kx = 0; kx < (d).kernel_w; ++kx) {                                                   \
            const int64_t ix = (ox) * (d).stride_w - (d).pad_w + kx * (d).dilation_w;                     \
            if (ix < 0 || ix >= (d).w) continue;                                                          \
            BODY                                                                                          \
        }                                                                                                 \
    }

double activate_ref(int32_t activation, double v) {
    if (activation == DK_ACTIVATION_RELU) return v > 0 ? v : 0;
    if (activation == DK_ACTIVATION_GELU) return 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    return v;
}

void conv_forward_ref(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const float *x = a.in, *w = a.in2;
    const int64_t cg = d.c / d.groups, og = d.oc / d.groups, taps = d.kernel_h * d.kernel_w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t o = 0; o < d.oc; ++o)
            for (int64_t oy = 0; oy < a.oh; ++oy)
                for (int64_t ox = 0; ox < a.ow; ++ox) {
                    double s = a.bias ? a.bias[o] : 0.0;
                    for (int64_t ci = 0; ci < cg; ++ci) {
                        const float *xc = x + (n * d.c + (o / og) * cg + ci) * d.h * d.w;
                        const float *wc = w + (o * cg + ci) * taps;
                        DK_CONV_TAPS(d, oy, ox, s += static_cast<double>(xc[iy * d.w + ix]) * wc[ky * d.kernel_w + kx];)
                    }
                    a.out[((n * d.oc + o) * a.oh + oy) * a.ow + ox] = static_cast<float>(activate_ref(d.activation, s));
                }
}

void conv_backward_data_ref(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const float *dy = a.in, *w = a.in2;
    const int64_t cg = d.c / d.groups, og = d.oc / d.groups, taps = d.kernel_h * d.kernel_w;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < d.n; ++n) {
        std::vector<double> dx(static_cast<size_t>(d.c * d.h * d.w), 0.0);
        for (int64_t o = 0; o < d.oc; ++o)
            for (int64_t oy = 0; oy < a.oh; ++oy)
                for (int64_t ox = 0; ox < a.ow; ++ox) {
                    const double g = dy[((n * d.oc + o) * a.oh + oy) * a.ow + ox];
                    for (int64_t ci = 0; ci < cg; ++ci) {
                        const float *wc = w + (o * cg + ci) * taps;
                        double *dxc = dx.data() + ((o / og) * cg + ci) * d.h * d.w;
                        DK_CONV_TAPS(d, oy, ox, dxc[iy * d.w + ix] += g * wc[ky * d.kernel_w + kx];)
                    }
                }
        float *out = a.out + n * d.c * d.h * d.w;
        for (size_t i = 0; i < dx.size(); ++i) out[i] = static_cast<float>(dx[i]);
    }
}

void conv_backward_weights_ref(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const float *dy = a.in, *x = a.in2;
    const int64_t cg = d.c / d.groups, og = d.oc / d.groups, taps = d.kernel_h * d.kernel_w;
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < d.oc; ++o) {
        std::vector<double> dw(static_cast<size_t>(cg * taps), 0.0);
        double db = 0;
        for (int64_t n = 0; n < d.n; ++n)
            for (int64_t oy = 0; oy < a.oh; ++oy)
                for (int64_t ox = 0; ox < a.ow; ++ox) {
                    const double g = dy[((n * d.oc + o) * a.oh + oy) * a.ow + ox];
                    db += g;
                    for (int64_t ci = 0; ci < cg; ++ci) {
                        const float *xc = x + (n * d.c + (o / og) * cg + ci) * d.h * d.w;
                        double *dwc = dw.data() + ci * taps;
                        DK_CONV_TAPS(d, oy, ox, dwc[ky * d.kernel_w + kx] += g * xc[iy * d.w + ix];)
                    }
                }
        float *out = a.out + o * cg * taps;
        for (size_t i = 0; i < dw.size(); ++i) out[i] = static_cast<float>(dw[i]);
        if (a.out_bias) a.out_bias[o] = static_cast<float>(db);
    }
}

bool all(const dk_conv2d_desc &) { return true; }

} // namespace

extern const Conv2dImpl conv2d_ref_impl = {"ref", all, conv_forward_ref, conv_backward_data_ref,
                                           conv_backward_weights_ref};

} // namespace dk

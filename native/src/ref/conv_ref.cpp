// Reference 2-D convolution (cross-correlation, NCHW x OIHW), direct loops in double: the forward,
// the gradient with respect to the input and the gradients of the weights and bias side by side.
#include "core/train_ops.h"

#include <cstddef>
#include <vector>

namespace dk {

namespace {

// Calls f(iy, ix) -> input coordinates for output (oy, ox) and kernel tap (ky, kx), or skips
// taps that land in the padding.
#define DK_CONV_TAPS(d, oy, ox, BODY)                                                                      \
    for (int64_t ky = 0; ky < (d).kernel_h; ++ky) {                                                       \
        const int64_t iy = (oy) * (d).stride_h - (d).pad_h + ky;                                          \
        if (iy < 0 || iy >= (d).h) continue;                                                              \
        for (int64_t kx = 0; kx < (d).kernel_w; ++kx) {                                                   \
            const int64_t ix = (ox) * (d).stride_w - (d).pad_w + kx;                                      \
            if (ix < 0 || ix >= (d).w) continue;                                                          \
            BODY                                                                                          \
        }                                                                                                 \
    }

void conv_forward_ref(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const float *x = a.in, *w = a.in2;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t o = 0; o < d.oc; ++o)
            for (int64_t oy = 0; oy < a.oh; ++oy)
                for (int64_t ox = 0; ox < a.ow; ++ox) {
                    double s = a.bias ? a.bias[o] : 0.0;
                    for (int64_t c = 0; c < d.c; ++c) {
                        const float *xc = x + (n * d.c + c) * d.h * d.w;
                        const float *wc = w + (o * d.c + c) * d.kernel_h * d.kernel_w;
                        DK_CONV_TAPS(d, oy, ox, s += static_cast<double>(xc[iy * d.w + ix]) * wc[ky * d.kernel_w + kx];)
                    }
                    a.out[((n * d.oc + o) * a.oh + oy) * a.ow + ox] = static_cast<float>(s);
                }
}

void conv_backward_data_ref(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const float *dy = a.in, *w = a.in2;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < d.n; ++n) {
        std::vector<double> dx(static_cast<size_t>(d.c * d.h * d.w), 0.0);
        for (int64_t o = 0; o < d.oc; ++o)
            for (int64_t oy = 0; oy < a.oh; ++oy)
                for (int64_t ox = 0; ox < a.ow; ++ox) {
                    const double g = dy[((n * d.oc + o) * a.oh + oy) * a.ow + ox];
                    for (int64_t c = 0; c < d.c; ++c) {
                        const float *wc = w + (o * d.c + c) * d.kernel_h * d.kernel_w;
                        double *dxc = dx.data() + c * d.h * d.w;
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
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < d.oc; ++o) {
        std::vector<double> dw(static_cast<size_t>(d.c * d.kernel_h * d.kernel_w), 0.0);
        double db = 0;
        for (int64_t n = 0; n < d.n; ++n)
            for (int64_t oy = 0; oy < a.oh; ++oy)
                for (int64_t ox = 0; ox < a.ow; ++ox) {
                    const double g = dy[((n * d.oc + o) * a.oh + oy) * a.ow + ox];
                    db += g;
                    for (int64_t c = 0; c < d.c; ++c) {
                        const float *xc = x + (n * d.c + c) * d.h * d.w;
                        double *dwc = dw.data() + c * d.kernel_h * d.kernel_w;
                        DK_CONV_TAPS(d, oy, ox, dwc[ky * d.kernel_w + kx] += g * xc[iy * d.w + ix];)
                    }
                }
        float *out = a.out + o * d.c * d.kernel_h * d.kernel_w;
        for (size_t i = 0; i < dw.size(); ++i) out[i] = static_cast<float>(dw[i]);
        if (a.out_bias) a.out_bias[o] = static_cast<float>(db);
    }
}

bool all(const dk_conv2d_desc &) { return true; }

} // namespace

extern const Conv2dImpl conv2d_ref_impl = {"ref", all, conv_forward_ref, conv_backward_data_ref,
                                           conv_backward_weights_ref};

} // namespace dk

// Reference 2-D max and average pooling over NCHW, forward and backward side by side. The max
// picks each window's first maximum in row-major window order; its backward recomputes it from x,
// or takes it from the indices the argmax forward wrote. The end padding only sets oh and ow.
#include "core/train_ops.h"

#include <algorithm>
#include <cstring>

namespace dk {

namespace {

struct Window {
    int64_t h0, h1, w0, w1; // the window clipped to the input
};

inline Window window(const dk_pool2d_desc &d, int64_t oy, int64_t ox) {
    const int64_t h0 = oy * d.stride_h - d.pad_h, w0 = ox * d.stride_w - d.pad_w;
    return {std::max<int64_t>(h0, 0), std::min(h0 + d.kernel_h, d.h), std::max<int64_t>(w0, 0),
            std::min(w0 + d.kernel_w, d.w)};
}

inline int64_t divisor(const dk_pool2d_desc &d, const Window &w) {
    return d.count_include_pad ? d.kernel_h * d.kernel_w : (w.h1 - w.h0) * (w.w1 - w.w0);
}

inline int64_t argmax(const dk_pool2d_desc &d, const float *x, const Window &w) {
    int64_t best = w.h0 * d.w + w.w0;
    for (int64_t i = w.h0; i < w.h1; ++i)
        for (int64_t j = w.w0; j < w.w1; ++j)
            if (x[i * d.w + j] > x[best]) best = i * d.w + j;
    return best;
}

void pool_forward_ref(const Pool2dArgs &a) {
    const dk_pool2d_desc &d = a.d;
#pragma omp parallel for schedule(static)
    for (int64_t plane = 0; plane < d.n * d.c; ++plane) {
        const float *x = a.x + plane * d.h * d.w;
        float *y = a.y + plane * a.oh * a.ow;
        int32_t *idx = a.indices_out ? a.indices_out + plane * a.oh * a.ow : nullptr;
        for (int64_t oy = 0; oy < a.oh; ++oy)
            for (int64_t ox = 0; ox < a.ow; ++ox) {
                const Window w = window(d, oy, ox);
                if (d.alg == DK_POOL_MAX) {
                    const int64_t best = argmax(d, x, w);
                    y[oy * a.ow + ox] = x[best];
                    if (idx) idx[oy * a.ow + ox] = static_cast<int32_t>(best);
                } else {
                    double s = 0;
                    for (int64_t i = w.h0; i < w.h1; ++i)
                        for (int64_t j = w.w0; j < w.w1; ++j) s += x[i * d.w + j];
                    y[oy * a.ow + ox] = static_cast<float>(s / divisor(d, w));
                }
            }
    }
}

void pool_backward_ref(const Pool2dArgs &a) {
    const dk_pool2d_desc &d = a.d;
#pragma omp parallel for schedule(static)
    for (int64_t plane = 0; plane < d.n * d.c; ++plane) {
        const float *x = a.x2 ? a.x2 + plane * d.h * d.w : nullptr, *dy = a.x + plane * a.oh * a.ow;
        const int32_t *idx = a.indices_in ? a.indices_in + plane * a.oh * a.ow : nullptr;
        float *dx = a.y + plane * d.h * d.w;
        std::memset(dx, 0, sizeof(float) * d.h * d.w);
        for (int64_t oy = 0; oy < a.oh; ++oy)
            for (int64_t ox = 0; ox < a.ow; ++ox) {
                const Window w = window(d, oy, ox);
                const float g = dy[oy * a.ow + ox];
                if (d.alg == DK_POOL_MAX) {
                    dx[idx ? idx[oy * a.ow + ox] : argmax(d, x, w)] += g;
                } else {
                    const float share = g / static_cast<float>(divisor(d, w));
                    for (int64_t i = w.h0; i < w.h1; ++i)
                        for (int64_t j = w.w0; j < w.w1; ++j) dx[i * d.w + j] += share;
                }
            }
    }
}

bool all(const dk_pool2d_desc &) { return true; }

} // namespace

extern const Pool2dImpl pool2d_forward_ref_impl = {"ref", all, pool_forward_ref};
extern const Pool2dImpl pool2d_backward_ref_impl = {"ref", all, pool_backward_ref};

} // namespace dk

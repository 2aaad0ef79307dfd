// 2-D convolution as im2col + the backend's matmul (native/src/core/registry.cpp picks the GEMM:
// the reference today on native, oneDNN's on onednn, the hand-written one when it lands), one
// image at a time so that the GEMM's output is already NCHW:
//   forward           y_n [oc, oh*ow]      = w [oc, c*kh*kw] x col_n [c*kh*kw, oh*ow] (+ bias)
//   backward data     dcol [c*kh*kw, oh*ow] = w^T x dy_n, then col2im (scatter-add) into dx_n
//   backward weights  dw [oc, c*kh*kw]    += dy_n x col_n^T; dbias = sum of dy over n, oh, ow
// The column buffer is c*kh*kw*oh*ow floats, allocated per call.
#include "core/train_ops.h"

#include <cstring>
#include <cstddef>
#include <vector>

namespace dk {

namespace {

void im2col(const dk_conv2d_desc &d, int64_t oh, int64_t ow, const float *x, float *col) {
    for (int64_t c = 0; c < d.c; ++c)
        for (int64_t ky = 0; ky < d.kernel_h; ++ky)
            for (int64_t kx = 0; kx < d.kernel_w; ++kx) {
                float *row = col + ((c * d.kernel_h + ky) * d.kernel_w + kx) * oh * ow;
                const float *xc = x + c * d.h * d.w;
                for (int64_t oy = 0; oy < oh; ++oy) {
                    const int64_t iy = oy * d.stride_h - d.pad_h + ky;
                    float *r = row + oy * ow;
                    if (iy < 0 || iy >= d.h) {
                        std::memset(r, 0, sizeof(float) * ow);
                        continue;
                    }
                    const float *xr = xc + iy * d.w;
                    for (int64_t ox = 0; ox < ow; ++ox) {
                        const int64_t ix = ox * d.stride_w - d.pad_w + kx;
                        r[ox] = ix >= 0 && ix < d.w ? xr[ix] : 0.0f;
                    }
                }
            }
}

void col2im(const dk_conv2d_desc &d, int64_t oh, int64_t ow, const float *col, float *dx) {
    std::memset(dx, 0, sizeof(float) * d.c * d.h * d.w);
    for (int64_t c = 0; c < d.c; ++c)
        for (int64_t ky = 0; ky < d.kernel_h; ++ky)
            for (int64_t kx = 0; kx < d.kernel_w; ++kx) {
                const float *row = col + ((c * d.kernel_h + ky) * d.kernel_w + kx) * oh * ow;
                float *dxc = dx + c * d.h * d.w;
                for (int64_t oy = 0; oy < oh; ++oy) {
                    const int64_t iy = oy * d.stride_h - d.pad_h + ky;
                    if (iy < 0 || iy >= d.h) continue;
                    for (int64_t ox = 0; ox < ow; ++ox) {
                        const int64_t ix = ox * d.stride_w - d.pad_w + kx;
                        if (ix >= 0 && ix < d.w) dxc[iy * d.w + ix] += row[oy * ow + ox];
                    }
                }
            }
}

dk_matmul_desc gemm(int64_t m, int64_t n, int64_t k, bool ta, bool tb, float beta) {
    dk_matmul_desc g{};
    g.m = m, g.n = n, g.k = k, g.trans_a = ta, g.trans_b = tb, g.alpha = 1.0f, g.beta = beta;
    g.lda = ta ? m : k, g.ldb = tb ? k : n, g.ldc = n;
    return g;
}

void forward(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const int64_t kk = d.c * d.kernel_h * d.kernel_w, sp = a.oh * a.ow;
    std::vector<float> col(static_cast<size_t>(kk * sp));
    for (int64_t n = 0; n < d.n; ++n) {
        float *y = a.out + n * d.oc * sp;
        im2col(d, a.oh, a.ow, a.in + n * d.c * d.h * d.w, col.data());
        matmul_internal(a.backend, gemm(d.oc, sp, kk, false, false, 0.0f), y, d.oc * sp, a.in2, d.oc * kk,
                        col.data(), kk * sp);
        if (a.bias)
            for (int64_t o = 0; o < d.oc; ++o)
                for (int64_t i = 0; i < sp; ++i) y[o * sp + i] += a.bias[o];
    }
}

void backward_data(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const int64_t kk = d.c * d.kernel_h * d.kernel_w, sp = a.oh * a.ow;
    std::vector<float> col(static_cast<size_t>(kk * sp));
    for (int64_t n = 0; n < d.n; ++n) {
        // dcol [kk, sp] = w^T [kk, oc] x dy_n [oc, sp]; w is stored [oc, kk]
        matmul_internal(a.backend, gemm(kk, sp, d.oc, true, false, 0.0f), col.data(), kk * sp, a.in2, d.oc * kk,
                        a.in + n * d.oc * sp, d.oc * sp);
        col2im(d, a.oh, a.ow, col.data(), a.out + n * d.c * d.h * d.w);
    }
}

void backward_weights(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const int64_t kk = d.c * d.kernel_h * d.kernel_w, sp = a.oh * a.ow;
    std::vector<float> col(static_cast<size_t>(kk * sp));
    if (a.out_bias) std::memset(a.out_bias, 0, sizeof(float) * d.oc);
    if (d.n == 0) std::memset(a.out, 0, sizeof(float) * d.oc * kk);
    for (int64_t n = 0; n < d.n; ++n) {
        const float *dy = a.in + n * d.oc * sp;
        im2col(d, a.oh, a.ow, a.in2 + n * d.c * d.h * d.w, col.data());
        // dw [oc, kk] (+)= dy_n [oc, sp] x col^T [sp, kk]; col is stored [kk, sp]
        matmul_internal(a.backend, gemm(d.oc, kk, sp, false, true, n == 0 ? 0.0f : 1.0f), a.out, d.oc * kk, dy,
                        d.oc * sp, col.data(), kk * sp);
        if (a.out_bias)
            for (int64_t o = 0; o < d.oc; ++o) {
                float s = 0;
                for (int64_t i = 0; i < sp; ++i) s += dy[o * sp + i];
                a.out_bias[o] += s;
            }
    }
}

bool all(const dk_conv2d_desc &) { return true; }

} // namespace

extern const Conv2dImpl conv2d_im2col_impl = {"im2col+gemm", all, forward, backward_data, backward_weights};

} // namespace dk

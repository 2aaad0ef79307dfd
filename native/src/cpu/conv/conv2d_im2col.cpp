// 2-D convolution as im2col + the backend's matmul (native/src/core/registry.cpp picks the GEMM:
// the hand-written one on native, oneDNN's on onednn). The whole batch goes through one GEMM per
// group and call: per-image GEMMs are too small to amortize a parallel region (on a loaded 2-core
// host each one can cost a scheduler quantum).
//   kk = c*kh*kw, P = n*oh*ow (all output positions of the batch); per group g (of `groups`):
//   kkg = kk / groups rows of col and og = oc / groups rows of w, Y and dY
//   forward           Y_g [og, P]  = w_g [og, kkg] x col_g [kkg, P];  y[n, o, s] = act(Y[o, n*sp + s] + bias[o])
//   backward data     dcol_g [kkg, P] = w_g^T x dY_g;  col2im (scatter-add) into dx
//   backward weights  dw_g [og, kkg] = dY_g [og, P] x colT[:, g*kkg ...] [P, kkg];  dbias[o] = sum_p dY[o, p]
// where dY [oc, P] is dy regrouped by channel. col and colT hold the same patches in the two
// layouts (colT so that the reference GEMM reads both operands row-major). Dilation moves tap
// (ky, kx) to (ky * dilation_h, kx * dilation_w); the end padding only shows in oh and ow.
#include "core/matmul.h"
#include "core/train_ops.h"

#include <cstddef>
#include <cstring>
#include <memory>

namespace dk {

namespace {

struct Geometry {
    int64_t kk, sp, positions; // c*kh*kw, oh*ow, n*oh*ow
};

Geometry geometry(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const int64_t sp = a.oh * a.ow;
    return {d.c * d.kernel_h * d.kernel_w, sp, d.n * sp};
}

// col [kk, P]: row r = (c, ky, kx) holds the input pixel each output position of image n sees
// through tap r (zero in the padding). Rows are written as runs: zeros, a strided (or, for
// stride 1, contiguous) copy of an input row, zeros.
void im2col(const dk_conv2d_desc &d, int64_t oh, int64_t ow, const float *x, int64_t n, float *col, int64_t positions) {
    const int64_t sp = oh * ow;
    const float *xn = x + n * d.c * d.h * d.w;
    for (int64_t c = 0; c < d.c; ++c)
        for (int64_t ky = 0; ky < d.kernel_h; ++ky)
            for (int64_t kx = 0; kx < d.kernel_w; ++kx) {
                const int64_t r = (c * d.kernel_h + ky) * d.kernel_w + kx;
                const float *xc = xn + c * d.h * d.w;
                // output columns whose input column ix = ox * stride - pad + kx lies in [0, w)
                const int64_t dx = kx * d.dilation_w;
                int64_t lo = 0;
                while (lo < ow && lo * d.stride_w - d.pad_w + dx < 0) ++lo;
                int64_t hi = ow;
                while (hi > lo && (hi - 1) * d.stride_w - d.pad_w + dx >= d.w) --hi;
                float *dst = col + r * positions + n * sp;
                for (int64_t oy = 0; oy < oh; ++oy) {
                    float *out = dst + oy * ow;
                    const int64_t iy = oy * d.stride_h - d.pad_h + ky * d.dilation_h;
                    if (iy < 0 || iy >= d.h) {
                        std::memset(out, 0, sizeof(float) * ow);
                        continue;
                    }
                    for (int64_t ox = 0; ox < lo; ++ox) out[ox] = 0.0f;
                    if (hi > lo) {
                        const float *src = xc + iy * d.w + (lo * d.stride_w - d.pad_w + dx);
                        if (d.stride_w == 1) std::memcpy(out + lo, src, sizeof(float) * (hi - lo));
                        else
                            for (int64_t ox = lo; ox < hi; ++ox) out[ox] = src[(ox - lo) * d.stride_w];
                    }
                    for (int64_t ox = hi; ox < ow; ++ox) out[ox] = 0.0f;
                }
            }
}

// colT [P, kk]: one row per output position of image n, the patch it sees (zero in the padding).
void im2col_transposed(const dk_conv2d_desc &d, int64_t oh, int64_t ow, const float *x, int64_t n, float *colT) {
    const int64_t sp = oh * ow, kk = d.c * d.kernel_h * d.kernel_w;
    const float *xn = x + n * d.c * d.h * d.w;
    for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
            float *row = colT + (n * sp + oy * ow + ox) * kk;
            for (int64_t c = 0; c < d.c; ++c) {
                const float *xc = xn + c * d.h * d.w;
                for (int64_t ky = 0; ky < d.kernel_h; ++ky) {
                    const int64_t iy = oy * d.stride_h - d.pad_h + ky * d.dilation_h;
                    float *out = row + (c * d.kernel_h + ky) * d.kernel_w;
                    if (iy < 0 || iy >= d.h) {
                        for (int64_t kx = 0; kx < d.kernel_w; ++kx) out[kx] = 0.0f;
                        continue;
                    }
                    for (int64_t kx = 0; kx < d.kernel_w; ++kx) {
                        const int64_t ix = ox * d.stride_w - d.pad_w + kx * d.dilation_w;
                        out[kx] = ix >= 0 && ix < d.w ? xc[iy * d.w + ix] : 0.0f;
                    }
                }
            }
        }
}

void col2im(const dk_conv2d_desc &d, int64_t oh, int64_t ow, const float *col, int64_t n, int64_t positions, float *dx) {
    const int64_t sp = oh * ow;
    float *dxn = dx + n * d.c * d.h * d.w;
    std::memset(dxn, 0, sizeof(float) * d.c * d.h * d.w);
    for (int64_t c = 0; c < d.c; ++c)
        for (int64_t ky = 0; ky < d.kernel_h; ++ky)
            for (int64_t kx = 0; kx < d.kernel_w; ++kx) {
                const float *row = col + ((c * d.kernel_h + ky) * d.kernel_w + kx) * positions + n * sp;
                float *dxc = dxn + c * d.h * d.w;
                for (int64_t oy = 0; oy < oh; ++oy) {
                    const int64_t iy = oy * d.stride_h - d.pad_h + ky * d.dilation_h;
                    if (iy < 0 || iy >= d.h) continue;
                    for (int64_t ox = 0; ox < ow; ++ox) {
                        const int64_t ix = ox * d.stride_w - d.pad_w + kx * d.dilation_w;
                        if (ix >= 0 && ix < d.w) dxc[iy * d.w + ix] += row[oy * ow + ox];
                    }
                }
            }
}

// Scratch that every element of is written before it is read: not zero-initialized.
using Buffer = std::unique_ptr<float[]>;
Buffer buffer(int64_t n) { return Buffer(new float[static_cast<size_t>(n)]); }

dk_matmul_desc gemm(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
    dk_matmul_desc g{};
    g.m = m, g.n = n, g.k = k, g.trans_a = ta, g.trans_b = tb, g.alpha = 1.0f, g.beta = 0.0f;
    g.lda = ta ? m : k, g.ldb = tb ? k : n, g.ldc = n;
    return g;
}

// dY [oc, P] from dy [n, oc, sp].
void group_by_channel(const dk_conv2d_desc &d, int64_t sp, const float *dy, float *out) {
    const int64_t positions = d.n * sp;
#pragma omp parallel for schedule(static) if (d.n * d.oc * sp >= (1 << 16))
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t o = 0; o < d.oc; ++o)
            std::memcpy(out + o * positions + n * sp, dy + (n * d.oc + o) * sp, sizeof(float) * sp);
}

void forward(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const Geometry g = geometry(a);
    const int64_t og = d.oc / d.groups, kkg = g.kk / d.groups;
    Buffer col = buffer(g.kk * g.positions), y = buffer(d.oc * g.positions);
#pragma omp parallel for schedule(static) if (d.n > 1)
    for (int64_t n = 0; n < d.n; ++n) im2col(d, a.oh, a.ow, a.in, n, col.get(), g.positions);
    for (int64_t grp = 0; grp < d.groups; ++grp)
        matmul_internal(a.backend, gemm(og, g.positions, kkg, false, false), y.get() + grp * og * g.positions,
                        og * g.positions, a.in2 + grp * og * kkg, og * kkg, col.get() + grp * kkg * g.positions,
                        kkg * g.positions);
#pragma omp parallel for schedule(static) if (d.n > 1)
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t o = 0; o < d.oc; ++o) {
            const float *src = y.get() + o * g.positions + n * g.sp;
            float *dst = a.out + (n * d.oc + o) * g.sp;
            const float b = a.bias ? a.bias[o] : 0.0f;
            for (int64_t s = 0; s < g.sp; ++s) dst[s] = src[s] + b;
            if (d.activation != DK_ACTIVATION_NONE) bias_activation(dst, g.sp, 1, g.sp, nullptr, d.activation);
        }
}

void backward_data(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const Geometry g = geometry(a);
    const int64_t og = d.oc / d.groups, kkg = g.kk / d.groups;
    Buffer dY = buffer(d.oc * g.positions), dcol = buffer(g.kk * g.positions);
    group_by_channel(d, g.sp, a.in, dY.get());
    // dcol_g [kkg, P] = w_g^T [kkg, og] x dY_g [og, P]; w_g is stored [og, kkg]
    for (int64_t grp = 0; grp < d.groups; ++grp)
        matmul_internal(a.backend, gemm(kkg, g.positions, og, true, false), dcol.get() + grp * kkg * g.positions,
                        kkg * g.positions, a.in2 + grp * og * kkg, og * kkg, dY.get() + grp * og * g.positions,
                        og * g.positions);
#pragma omp parallel for schedule(static) if (d.n > 1)
    for (int64_t n = 0; n < d.n; ++n) col2im(d, a.oh, a.ow, dcol.get(), n, g.positions, a.out);
}

void backward_weights(const Conv2dArgs &a) {
    const dk_conv2d_desc &d = a.d;
    const Geometry g = geometry(a);
    const int64_t og = d.oc / d.groups, kkg = g.kk / d.groups;
    if (g.positions == 0) {
        std::memset(a.out, 0, sizeof(float) * og * g.kk);
        if (a.out_bias) std::memset(a.out_bias, 0, sizeof(float) * d.oc);
        return;
    }
    Buffer dY = buffer(d.oc * g.positions), colT = buffer(g.positions * g.kk);
    group_by_channel(d, g.sp, a.in, dY.get());
#pragma omp parallel for schedule(static) if (d.n > 1)
    for (int64_t n = 0; n < d.n; ++n) im2col_transposed(d, a.oh, a.ow, a.in2, n, colT.get());
    // dw_g [og, kkg] = dY_g [og, P] x colT[:, g*kkg : (g+1)*kkg] (leading dimension kk)
    for (int64_t grp = 0; grp < d.groups; ++grp) {
        dk_matmul_desc mm = gemm(og, kkg, g.positions, false, false);
        mm.ldb = g.kk;
        matmul_internal(a.backend, mm, a.out + grp * og * kkg, og * kkg, dY.get() + grp * og * g.positions,
                        og * g.positions, colT.get() + grp * kkg, g.positions * g.kk - grp * kkg);
    }
    if (a.out_bias)
        for (int64_t o = 0; o < d.oc; ++o) {
            double s = 0;
            const float *row = dY.get() + o * g.positions;
            for (int64_t p = 0; p < g.positions; ++p) s += row[p];
            a.out_bias[o] = static_cast<float>(s);
        }
}

bool all(const dk_conv2d_desc &) { return true; }

} // namespace

extern const Conv2dImpl conv2d_im2col_impl = {"im2col+gemm", all, forward, backward_data, backward_weights};

} // namespace dk

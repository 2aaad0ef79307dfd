// Depthwise convolution (groups == c: output channel o sees input channel o / multiplier only),
// any kernel, stride, padding and dilation. Depthwise layers do 2 kh kw flops per output and are
// bound by memory, so everything is organized to touch each tensor once: one plane at a time, the
// input plane staged (zero padding, stride phases; conv_staging.h) into a per-thread buffer that
// stays in L1/L2 while the AVX-512 plane kernel (conv_kernels_avx512.cpp, dw_plane) reads it.
//   forward           per (image, input channel): stage x once, then each of its multiplier
//                     output planes: y = sum_tap w[tap] x~[p + xoff[tap]] + bias, relu fused
//   backward data     stride 1: per (image, input channel), the multiplier dy planes staged with
//                     (k - 1) d - pad of padding, flipped weights, accumulated into dx;
//                     stride > 1: the transposed scatter, per plane, into a padded buffer
//   backward weights  per output channel: dot products of the staged dy (zeros where ow >= OW)
//                     with the staged x at each tap's offset (the dense kernels' dot tile, 1 row)
#include "core/cpu_features.h"
#include "core/matmul.h"
#include "core/train_ops.h"
#include "core/workspace.h"
#include "cpu/conv/conv_kernels.h"
#include "cpu/conv/conv_shape.h"
#include "cpu/conv/conv_staging.h"

#include <algorithm>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dk {

namespace conv {

namespace {

int thread_id() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// Multiplier 1 on small planes: blocks of 16 channels, vectors across channels (dw_block16).
bool use_blocks(const Shape &s) { return s.oc == s.c && s.oh * s.ow <= 64 * 64 && s.act != DK_ACTIVATION_GELU; }

void forward_blocks(const Conv2dArgs &a) {
    const Kernels &K = conv_avx512;
    const Shape s = shape_of(a);
    const int64_t taps = s.taps(), sp = s.oh * s.ow;
    const int64_t hp = (s.oh - 1) * s.sh + (s.kh - 1) * s.dh + 1, wp = (s.ow - 1) * s.sw + (s.kw - 1) * s.dw + 1;
    const int64_t per_thread = (hp * wp * 16 + (s.ow + 16) * 16 + taps * 16 + 16) / 16 * 16;
    const int threads = max_threads();
    Workspace buf(int64_t(threads) * per_thread * 4);
    const int64_t blocks = ceil_div(s.c, 16), items = s.n * blocks;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && items > 1)
    for (int64_t i = 0; i < items; ++i) {
        const int64_t n = i / blocks, c0 = i % blocks * 16;
        DwBlock d{};
        d.x = a.in + (n * s.c + c0) * s.h * s.w, d.channels = static_cast<int>(std::min<int64_t>(16, s.c - c0));
        d.h = s.h, d.w = s.w, d.pt = s.pt, d.pl = s.pl, d.sh = s.sh, d.sw = s.sw, d.dh = s.dh, d.dw = s.dw;
        d.kh = s.kh, d.kw = s.kw, d.oh = s.oh, d.ow = s.ow;
        d.wt = a.in2 + c0 * taps, d.bias = a.bias ? a.bias + c0 : nullptr, d.relu = s.act == DK_ACTIVATION_RELU;
        d.y = a.out + (n * s.oc + c0) * sp, d.buf = buf.floats() + thread_id() * per_thread;
        K.dw16(d);
    }
}

void forward(const Conv2dArgs &a) {
    const Kernels &K = conv_avx512;
    const Shape s = shape_of(a);
    if (use_blocks(s)) return forward_blocks(a);
    const int64_t mult = s.oc / s.c, taps = s.taps(), sp = s.oh * s.ow;
    const Staging st = make_staging(s.sh, s.sw, s.pt, s.pl, s.h + s.pt + s.pb, s.w + s.pl + s.pr, s.kh, s.kw, s.dh, s.dw);
    const Taps tp = make_taps(st, s.kh, s.kw, s.dh, s.dw, false);
    const Strips strips = make_strips(s.oh, s.ow, st.wq, 1);
    const int threads = max_threads();
    Workspace buf(int64_t(threads) * st.chs() * 4);
    const int64_t planes = s.n * s.c;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && planes > 1)
    for (int64_t i = 0; i < planes; ++i) {
        float *xs = buf.floats() + thread_id() * st.chs();
        const int64_t n = i / s.c, c = i % s.c;
        stage_channel(st, a.in + i * s.h * s.w, s.h, s.w, xs);
        for (int64_t j = 0; j < mult; ++j) {
            const int64_t o = c * mult + j;
            DwPlane d{};
            d.x = xs, d.xoff = tp.xoff.data(), d.ntaps = static_cast<int>(taps), d.w = a.in2 + o * taps;
            d.y = a.out + (n * s.oc + o) * sp, d.masks = strips.masks.data(), d.dst = strips.dst.data();
            d.count = strips.count, d.bias = a.bias ? a.bias[o] : 0.0f, d.relu = s.act == DK_ACTIVATION_RELU;
            K.dw(d);
            if (s.act == DK_ACTIVATION_GELU)
                for (int64_t p = 0; p < sp; ++p) d.y[p] = activate(DK_ACTIVATION_GELU, d.y[p]);
        }
    }
}

void backward_data(const Conv2dArgs &a) {
    const Kernels &K = conv_avx512;
    const Shape s = shape_of(a);
    const int64_t mult = s.oc / s.c, taps = s.taps(), sp = s.oh * s.ow, hw = s.h * s.w;
    const int threads = max_threads();
    const int64_t planes = s.n * s.c;
    if (s.sh == 1 && s.sw == 1) {
        const int64_t top = (s.kh - 1) * s.dh - s.pt, left = (s.kw - 1) * s.dw - s.pl;
        const Staging st = make_staging(1, 1, top, left, s.h + (s.kh - 1) * s.dh, s.w + (s.kw - 1) * s.dw, s.kh, s.kw,
                                        s.dh, s.dw);
        const Taps tp = make_taps(st, s.kh, s.kw, s.dh, s.dw, true);
        const Strips strips = make_strips(s.h, s.w, st.wq, 1);
        Workspace buf(int64_t(threads) * (st.chs() + taps) * 4);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && planes > 1)
        for (int64_t i = 0; i < planes; ++i) {
            float *ys = buf.floats() + thread_id() * (st.chs() + taps), *wf = ys + st.chs();
            const int64_t n = i / s.c, c = i % s.c;
            for (int64_t j = 0; j < mult; ++j) {
                const int64_t o = c * mult + j;
                stage_channel(st, a.in + (n * s.oc + o) * sp, s.oh, s.ow, ys);
                for (int64_t t = 0; t < taps; ++t) wf[t] = a.in2[o * taps + tp.woff[t]];
                DwPlane d{};
                d.x = ys, d.xoff = tp.xoff.data(), d.ntaps = static_cast<int>(taps), d.w = wf;
                d.y = a.out + i * hw, d.masks = strips.masks.data(), d.dst = strips.dst.data();
                d.count = strips.count, d.accumulate = j > 0;
                K.dw(d);
            }
        }
        return;
    }
    // strided: scatter dy * w into the padded plane, then crop it into dx
    const int64_t hp = s.h + s.pt + s.pb + s.sh * s.kh * s.dh, wp = s.w + s.pl + s.pr + s.sw * s.kw * s.dw;
    Workspace buf(int64_t(threads) * hp * wp * 4);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && planes > 1)
    for (int64_t i = 0; i < planes; ++i) {
        float *pad = buf.floats() + thread_id() * hp * wp;
        std::memset(pad, 0, sizeof(float) * hp * wp);
        const int64_t n = i / s.c, c = i % s.c;
        for (int64_t j = 0; j < mult; ++j) {
            const int64_t o = c * mult + j;
            const float *dy = a.in + (n * s.oc + o) * sp, *w = a.in2 + o * taps;
            for (int64_t oy = 0; oy < s.oh; ++oy)
                for (int64_t ky = 0; ky < s.kh; ++ky)
                    for (int64_t kx = 0; kx < s.kw; ++kx) {
                        const float wk = w[ky * s.kw + kx];
                        float *row = pad + (oy * s.sh + ky * s.dh) * wp + kx * s.dw;
                        const float *g = dy + oy * s.ow;
                        for (int64_t ox = 0; ox < s.ow; ++ox) row[ox * s.sw] += g[ox] * wk;
                    }
        }
        float *dx = a.out + i * hw;
        for (int64_t y = 0; y < s.h; ++y) std::memcpy(dx + y * s.w, pad + (y + s.pt) * wp + s.pl, sizeof(float) * s.w);
    }
}

void backward_weights(const Conv2dArgs &a) {
    const Kernels &K = conv_avx512;
    const Shape s = shape_of(a);
    const int64_t mult = s.oc / s.c, taps = s.taps(), sp = s.oh * s.ow;
    const Staging st = make_staging(s.sh, s.sw, s.pt, s.pl, s.h + s.pt + s.pb, s.w + s.pl + s.pr, s.kh, s.kw, s.dh, s.dw);
    const Taps tp = make_taps(st, s.kh, s.kw, s.dh, s.dw, false);
    const int64_t len = (s.oh * st.wq + 15) / 16 * 16;
    const int threads = max_threads();
    Workspace buf(int64_t(threads) * (st.chs() + len) * 4);
    std::memset(a.out, 0, sizeof(float) * s.oc * taps);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && s.oc > 1)
    for (int64_t o = 0; o < s.oc; ++o) {
        float *xs = buf.floats() + thread_id() * (st.chs() + len), *ys = xs + st.chs();
        const int64_t c = o / mult;
        double db = 0;
        for (int64_t n = 0; n < s.n; ++n) {
            const float *dy = a.in + (n * s.oc + o) * sp;
            std::memset(ys, 0, sizeof(float) * len);
            for (int64_t i = 0; i < s.oh; ++i) {
                std::memcpy(ys + i * st.wq, dy + i * s.ow, sizeof(float) * s.ow);
                for (int64_t j = 0; j < s.ow; ++j) db += dy[i * s.ow + j];
            }
            stage_channel(st, a.in2 + (n * s.c + c) * s.h * s.w, s.h, s.w, xs);
            for (int64_t t0 = 0; t0 < taps; t0 += 9) {
                DotTile t{};
                t.nseg = 1, t.dy = ys, t.dy_rs = len, t.x = xs, t.len = len, t.xoff = tp.xoff.data() + t0;
                t.out = a.out + o * taps + t0, t.ldo = taps, t.woff = tp.woff.data();
                K.dot(t, 1, static_cast<int>(std::min<int64_t>(9, taps - t0)));
            }
        }
        if (a.out_bias) a.out_bias[o] = static_cast<float>(db);
    }
}

bool supports(const dk_conv2d_desc &d) {
    return cpu_isa() == Isa::avx512 && d.groups > 1 && d.groups == d.c && d.stride_h * d.stride_w <= 64 && d.n > 0;
}

} // namespace

} // namespace conv

extern const Conv2dImpl conv2d_depthwise_impl = {"depthwise_avx512", conv::supports, conv::forward,
                                                 conv::backward_data, conv::backward_weights};

} // namespace dk

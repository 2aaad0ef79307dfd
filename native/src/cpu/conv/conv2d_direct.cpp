// The direct convolution for general shapes (any kernel size, stride, padding, dilation, groups):
// an implicit GEMM over a flattened staged input, AVX-512 microkernels in conv_kernels_avx512.cpp
// (what they compute: conv_kernels.h). The user's tensors stay NCHW / OIHW; the only reorder is
// the staging of the input, one pass over it per call for the whole batch:
//
//   forward          stage x: zero padding, and for stride s the s x s phases (space-to-depth),
//                    so that every tap of a strided conv is a stride-1 shift of one phase plane;
//                    Y[o, p] = sum_{c, tap} W[o, c, tap] X~[c, p + xoff[tap]], stored straight
//                    into y (NCHW) with bias and ReLU applied to the tile in registers.
//   backward data    (stride 1) the same kernel on dy staged with (k - 1) d - pad of padding and the
//                    kernel flipped by addressing (row c, channel o, tap t read w[o, c, taps - 1 - t])
//                    from a transposed copy of the weights; strided: phase by phase (below).
//   backward weights dW[o, c, tap] = sum_{n, p} dY~[o, p] X~[c, p + xoff[tap]]: dot products over
//                    flat positions (dy staged with zeros where ow >= OW), a 3 x 9 register tile
//                    of (output channel, tap) sums reduced across lanes once per block of positions.
//
// The forward never copies the weights: tiles broadcast them from the OIHW array, whose rows are
// read as sequential streams (backward data reads a transposed copy, for the same reason). Blocking, as in the GEMM (sgemm.cpp): a k block of cb input channels keeps
// the staged strip (V vectors plus the taps' halo, per channel) in L1 next to the M x cb x taps
// weight panel; a position block keeps cb channels of staged input for SB strips in L2 while every
// output-channel panel passes over it. Threads take (image, group, position block, panel range)
// units from a dynamic schedule; each unit owns its outputs, so no reduction is needed.
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

struct ImplicitGemm {
    int64_t images, groups;
    int64_t rows, kch;          // output rows and k channels per group
    const float *a;             // weights of group 0; group g at a + g * a_group
    int64_t a_group, rs, cs;
    const float *x;             // staged input: image n, group g at x + (n * groups + g) * kch * chs
    const Staging *st;
    const Taps *taps;
    float *out;                 // output: image n, group g, row r at out + ((n * groups + g) * rows + r) * ldc
    int64_t ldc, out_h, out_w;
    const float *bias;          // per output row of the whole tensor (group g at + g * rows), or null
    bool relu;
};

void run_implicit_gemm(const ImplicitGemm &G) {
    const Kernels &K = conv_avx512;
    const Staging &st = *G.st;
    const int ntaps = static_cast<int>(G.taps->xoff.size());
    // tile shape: the least padded work over rows (M) and flat positions (16 V)
    const int64_t positions = (G.out_h - 1) * st.wq + G.out_w;
    int cfg = 0;
    double best = 0;
    for (int i = 0; i < 3; ++i) {
        const double work = double(ceil_div(G.rows, K.mr[i]) * K.mr[i]) * double(ceil_div(positions, 16 * K.v[i]) * 16 * K.v[i]);
        if (i == 0 || work < best * 0.97) best = work, cfg = i;
    }
    const int M = K.mr[cfg], V = K.v[cfg];
    const Strips strips = make_strips(G.out_h, G.out_w, st.wq, V);
    const int64_t panels = ceil_div(G.rows, M);
    // k block: the strip of every channel of the block (V vectors + the taps' halo in each used
    // phase) in about half of L1
    const int64_t per_channel = st.nph * (16 * V + G.taps->max_inphase + 16) * 4;
    int64_t cb = std::max<int64_t>(1, std::min<int64_t>(G.kch, (24 << 10) / per_channel));
    const int64_t kblocks = ceil_div(G.kch, cb);
    cb = ceil_div(G.kch, kblocks);
    // position block: cb channels of staged input for sb strips in about a third of L2
    const int64_t per_strip = cb * st.nph * 16 * V * 4;
    int64_t sb = std::max<int64_t>(1, (384 << 10) / per_strip);
    const int64_t pblocks = ceil_div(strips.count, sb);
    sb = ceil_div(strips.count, pblocks);
    // threads: units of (image, group, position block, panel range)
    const int threads = max_threads();
    const int64_t outer = G.images * G.groups * pblocks;
    int64_t psplit = 1;
    if (threads > 1 && outer < 4 * threads) psplit = std::min(panels, ceil_div(4 * threads, outer));
    const int64_t panels_per = ceil_div(panels, psplit);
    const int64_t units = outer * psplit;
    const int64_t chs = st.chs();

    auto unit = [&](int64_t u) {
        const int64_t ps = u % psplit, pb = u / psplit % pblocks, ng = u / psplit / pblocks;
        const int64_t g = ng % G.groups;
        const float *xs = G.x + ng * G.kch * chs;
        float *ob = G.out + ng * G.rows * G.ldc;
        const float *ab = G.a + g * G.a_group;
        const float *bias = G.bias ? G.bias + g * G.rows : nullptr;
        const int64_t s0 = pb * sb, s1 = std::min(strips.count, s0 + sb);
        const int64_t q0 = ps * panels_per, q1 = std::min(panels, q0 + panels_per);
        FwdTile t{};
        t.ntaps = ntaps, t.xoff = G.taps->xoff.data(), t.woff = G.taps->woff.data();
        t.rs = G.rs, t.cs = G.cs, t.chs = chs, t.ldc = G.ldc, t.relu = G.relu;
        for (int64_t kb = 0; kb < kblocks; ++kb) {
            const int64_t c0 = kb * cb;
            t.nc = std::min(cb, G.kch - c0);
            t.first = kb == 0, t.last = kb == kblocks - 1;
            for (int64_t q = q0; q < q1; ++q) {
                const int64_t r0 = q * M;
                const int m_r = static_cast<int>(std::min<int64_t>(M, G.rows - r0));
                t.a = ab + r0 * G.rs + c0 * G.cs;
                t.bias = bias ? bias + r0 : nullptr;
                for (int64_t s = s0; s < s1; ++s) {
                    t.masks = strips.masks.data() + s * V;
                    t.b = xs + c0 * chs + s * 16 * V;
                    t.c = ob + r0 * G.ldc + strips.dst[s];
                    K.fwd[cfg](t, m_r);
                }
            }
        }
    };
    if (threads > 1 && units > 1) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int64_t u = 0; u < units; ++u) unit(u);
    } else {
        for (int64_t u = 0; u < units; ++u) unit(u);
    }
}

void apply_gelu(const Shape &s, float *y) {
    const int64_t total = s.n * s.oc * s.oh * s.ow;
#pragma omp parallel for schedule(static) if (total >= (1 << 16))
    for (int64_t i = 0; i < total; ++i) y[i] = activate(DK_ACTIVATION_GELU, y[i]);
}

void forward(const Conv2dArgs &a) {
    const Shape s = shape_of(a);
    const Staging st = make_staging(s.sh, s.sw, s.pt, s.pl, s.h + s.pt + s.pb, s.w + s.pl + s.pr, s.kh, s.kw, s.dh, s.dw);
    const Taps taps = make_taps(st, s.kh, s.kw, s.dh, s.dw, false);
    Workspace xs(s.n * s.c * st.chs() * 4 + 64);
    stage_all(st, a.in, s.n * s.c, s.h, s.w, xs.floats());
    ImplicitGemm G{};
    G.images = s.n, G.groups = s.groups, G.rows = s.ocg(), G.kch = s.cg();
    G.a = a.in2, G.a_group = s.ocg() * s.cg() * s.taps(), G.rs = s.cg() * s.taps(), G.cs = s.taps();
    G.x = xs.floats(), G.st = &st, G.taps = &taps;
    G.out = a.out, G.ldc = s.oh * s.ow, G.out_h = s.oh, G.out_w = s.ow;
    G.bias = a.bias, G.relu = s.act == DK_ACTIVATION_RELU;
    run_implicit_gemm(G);
    if (s.act == DK_ACTIVATION_GELU) apply_gelu(s, a.out);
}

// Backward data reads the weights transposed, wT[g][c][o][tap] = w[g ocg + o][c][tap], so that a
// tile's rows (input channels) stream through consecutive memory along k (o, tap) as in the
// forward; read in place, every k step would jump a whole [c][taps] block (a page) per row.
Workspace transposed_weights(const Shape &s, const float *w) {
    const int64_t cg = s.cg(), ocg = s.ocg(), taps = s.taps();
    Workspace wt(s.oc * cg * taps * 4 + 64);
    float *out = wt.floats();
#pragma omp parallel for schedule(static) if (s.oc * cg * taps >= (1 << 15))
    for (int64_t gc = 0; gc < s.c; ++gc) {
        const int64_t g = gc / cg, c = gc % cg;
        for (int64_t o = 0; o < ocg; ++o) {
            float *dst = out + ((g * cg + c) * ocg + o) * taps;
            const float *src = w + ((g * ocg + o) * cg + c) * taps;
            for (int64_t t = 0; t < taps; ++t) dst[t] = src[t]; // a few floats: no memcpy call
        }
    }
    return wt;
}

// Strided backward data, phase by phase: the padded dx row Y = i sh + ry receives dy[oh] w[ky] from
// exactly the taps with ky dh = ry (mod sh), from oh = i - q, q = (ky dh - ry) / sh. So each phase
// (ry, rx) of dx is a stride-1 correlation of dy, padded by Q = (k - 1) d / s before, with the
// phase's taps at offsets (Q - q): the same implicit GEMM, into a phase buffer scattered into dx.
void backward_data_strided(const Conv2dArgs &a) {
    const Shape s = shape_of(a);
    const int64_t hp = s.h + s.pt + s.pb, wp = s.w + s.pl + s.pr;
    const int64_t qy = (s.kh - 1) * s.dh / s.sh, qx = (s.kw - 1) * s.dw / s.sw;
    const int64_t hi_max = ceil_div(hp, s.sh), wi_max = ceil_div(wp, s.sw);
    const Staging st = make_staging(1, 1, qy, qx, hi_max + qy, wi_max + qx, 1, 1, 1, 1);
    Workspace ys(s.n * s.oc * st.chs() * 4 + 64), ph(s.n * s.c * hi_max * wi_max * 4 + 64);
    const Workspace wt = transposed_weights(s, a.in2);
    stage_all(st, a.in, s.n * s.oc, s.oh, s.ow, ys.floats());
    const int64_t planes = s.n * s.c;
    for (int64_t ry = 0; ry < s.sh; ++ry)
        for (int64_t rx = 0; rx < s.sw; ++rx) {
            const int64_t hi = ceil_div(hp - ry, s.sh), wi = ceil_div(wp - rx, s.sw);
            if (hi <= 0 || wi <= 0) continue;
            Taps taps;
            for (int64_t ky = 0; ky < s.kh; ++ky) {
                if (ky * s.dh % s.sh != ry) continue;
                for (int64_t kx = 0; kx < s.kw; ++kx) {
                    if (kx * s.dw % s.sw != rx) continue;
                    const int64_t off = (qy - (ky * s.dh - ry) / s.sh) * st.wq + (qx - (kx * s.dw - rx) / s.sw);
                    taps.xoff.push_back(off), taps.woff.push_back(ky * s.kw + kx);
                    taps.max_inphase = std::max(taps.max_inphase, off);
                }
            }
            float *out = ph.floats();
            if (taps.xoff.empty()) {
                std::memset(out, 0, sizeof(float) * planes * hi * wi);
            } else {
                ImplicitGemm G{};
                G.images = s.n, G.groups = s.groups, G.rows = s.cg(), G.kch = s.ocg();
                G.a = wt.floats(), G.a_group = s.ocg() * s.cg() * s.taps(), G.rs = s.ocg() * s.taps(), G.cs = s.taps();
                G.x = ys.floats(), G.st = &st, G.taps = &taps;
                G.out = out, G.ldc = hi * wi, G.out_h = hi, G.out_w = wi;
                G.bias = nullptr, G.relu = false;
                run_implicit_gemm(G);
            }
            // dx[c][i sh + ry - pt][j sw + rx - pl] = phase[c][i][j] where inside dx
#pragma omp parallel for schedule(static) if (planes * hi * wi >= (1 << 15))
            for (int64_t pl = 0; pl < planes; ++pl)
                for (int64_t i = 0; i < hi; ++i) {
                    const int64_t y = i * s.sh + ry - s.pt;
                    if (y < 0 || y >= s.h) continue;
                    float *row = a.out + (pl * s.h + y) * s.w;
                    const float *src = out + (pl * hi + i) * wi;
                    for (int64_t j = 0; j < wi; ++j) {
                        const int64_t x = j * s.sw + rx - s.pl;
                        if (x >= 0 && x < s.w) row[x] = src[j];
                    }
                }
        }
}

void backward_data(const Conv2dArgs &a) {
    const Shape s = shape_of(a);
    if (s.sh != 1 || s.sw != 1) return backward_data_strided(a);
    // dx[c, i, j] = sum_{o, tap} dy~[o, i + ty, j + tx] w[o, c, flipped tap], dy~ padded by
    // (k - 1) d - pad before (negative: cropped), to h + (k - 1) d rows
    const int64_t top = (s.kh - 1) * s.dh - s.pt, left = (s.kw - 1) * s.dw - s.pl;
    const Staging st = make_staging(1, 1, top, left, s.h + (s.kh - 1) * s.dh, s.w + (s.kw - 1) * s.dw, s.kh, s.kw,
                                    s.dh, s.dw);
    const Taps taps = make_taps(st, s.kh, s.kw, s.dh, s.dw, true);
    Workspace ys(s.n * s.oc * st.chs() * 4 + 64);
    stage_all(st, a.in, s.n * s.oc, s.oh, s.ow, ys.floats());
    ImplicitGemm G{};
    G.images = s.n, G.groups = s.groups, G.rows = s.cg(), G.kch = s.ocg();
    const Workspace wt = transposed_weights(s, a.in2);
    G.a = wt.floats(), G.a_group = s.ocg() * s.cg() * s.taps(), G.rs = s.ocg() * s.taps(), G.cs = s.taps();
    G.x = ys.floats(), G.st = &st, G.taps = &taps;
    G.out = a.out, G.ldc = s.h * s.w, G.out_h = s.h, G.out_w = s.w;
    G.bias = nullptr, G.relu = false;
    run_implicit_gemm(G);
}

// ---- backward weights -------------------------------------------------------------------------

// dW[o, c, tap] = sum_{n, p} X~[c, p + xoff[tap]] dY[o, p]: for each tap a GEMM with m = c (rows
// broadcast from the staged x, rs = chs, consecutive p at unit stride), k = the flat positions of
// every image, n = o (vectors of dy in channels-last order, dYc[p][o], zero at positions with
// ow >= OW). The tile kernel writes dWt[tap][c][o] (strips along o), transposed into OIHW at the
// end. Threads own (tap, row panel, o strip) units across every block of positions (a static
// schedule gives each thread the same units for every block, so nothing is reduced).
void backward_weights(const Conv2dArgs &a) {
    const Kernels &K = conv_avx512;
    const Shape s = shape_of(a);
    const int64_t taps_n = s.taps(), cg = s.cg(), ocg = s.ocg();
    const Staging st = make_staging(s.sh, s.sw, s.pt, s.pl, s.h + s.pt + s.pb, s.w + s.pl + s.pr, s.kh, s.kw, s.dh, s.dw);
    const Taps taps = make_taps(st, s.kh, s.kw, s.dh, s.dw, false);
    const int64_t chs = st.chs();
    const int64_t len = (s.oh - 1) * st.wq + s.ow; // flat positions per image
    const int64_t ocp = (s.oc + 15) / 16 * 16 + 16; // dYc row: every o, padded (tile loads may run past a group)
    Workspace xs(s.n * s.c * chs * 4 + 64), ys(s.n * len * ocp * 4 + 256), wt(taps_n * s.c * ocg * 4 + 64);
    stage_all(st, a.in2, s.n * s.c, s.h, s.w, xs.floats());
    float *dyc = ys.floats();
    const int64_t sp = s.oh * s.ow;
    // dYc[n][p][o] (zero where ow >= OW and in the padding of o) and dbias
    std::vector<double> db(static_cast<size_t>(s.oc), 0.0);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < s.n; ++n) {
        float *img = dyc + n * len * ocp;
        std::memset(img, 0, sizeof(float) * len * ocp);
        for (int64_t o0 = 0; o0 < s.oc; o0 += 16) {
            const int64_t oe = std::min<int64_t>(s.oc, o0 + 16);
            for (int64_t i = 0; i < s.oh; ++i)
                for (int64_t j = 0; j < s.ow; ++j) {
                    float *dst = img + (i * st.wq + j) * ocp;
                    for (int64_t o = o0; o < oe; ++o) dst[o] = a.in[(n * s.oc + o) * sp + i * s.ow + j];
                }
        }
    }
    if (a.out_bias)
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < s.oc; ++o) {
            double sum = 0;
            for (int64_t n = 0; n < s.n; ++n) {
                const float *row = a.in + (n * s.oc + o) * sp;
                for (int64_t p = 0; p < sp; ++p) sum += row[p];
            }
            a.out_bias[o] = static_cast<float>(sum);
        }
    // tile configuration over rows c and lanes o
    int cfg = 0;
    double best = 0;
    for (int i = 0; i < 3; ++i) {
        const double work = double(ceil_div(cg, K.mr[i]) * K.mr[i]) * double(ceil_div(ocg, 16 * K.v[i]) * 16 * K.v[i]);
        if (i == 0 || work < best * 0.97) best = work, cfg = i;
    }
    const int M = K.mr[cfg], V = K.v[cfg];
    const Strips strips = make_strips(1, ocg, ocg, V);
    const int64_t panels = ceil_div(cg, M);
    const int64_t units = s.groups * taps_n * panels * strips.count;
    constexpr int64_t kChunk = 256; // positions per block: the A panel (M x kChunk) stays in L1
    const int64_t chunks = ceil_div(len, kChunk);
    float *dwt = wt.floats(); // [tap][c][ocg]
    const int64_t zero_off = 0;
    const int threads = max_threads();
#pragma omp parallel num_threads(threads) if (threads > 1 && units > 1)
    {
        for (int64_t n = 0; n < s.n; ++n)
            for (int64_t ch = 0; ch < chunks; ++ch) {
                const int64_t p0 = ch * kChunk, np = std::min(kChunk, len - p0);
#pragma omp for schedule(static) nowait
                for (int64_t u = 0; u < units; ++u) {
                    const int64_t strip = u % strips.count, q = u / strips.count % panels;
                    const int64_t t = u / strips.count / panels % taps_n, g = u / strips.count / panels / taps_n;
                    const int64_t c0 = q * M;
                    FwdTile tl{};
                    tl.nc = np, tl.ntaps = 1, tl.xoff = &zero_off, tl.woff = &zero_off;
                    tl.a = xs.floats() + (n * s.c + g * cg + c0) * chs + taps.xoff[t] + p0, tl.rs = chs, tl.cs = 1;
                    tl.b = dyc + (n * len + p0) * ocp + g * ocg + strip * 16 * V, tl.chs = ocp;
                    tl.c = dwt + (t * s.c + g * cg + c0) * ocg + strips.dst[strip], tl.ldc = ocg;
                    tl.masks = strips.masks.data() + strip * V;
                    tl.first = n == 0 && ch == 0, tl.last = 0, tl.bias = nullptr, tl.relu = 0;
                    K.fwd[cfg](tl, static_cast<int>(std::min<int64_t>(M, cg - c0)));
                }
            }
    }
    // dWt[tap][g cg + c][o] -> dw[g ocg + o][c][tap]
    // (per input channel: its taps x ocg block is read in rows and written as runs of taps)
#pragma omp parallel for schedule(static)
    for (int64_t gc = 0; gc < s.c; ++gc) {
        const int64_t g = gc / cg, c = gc % cg;
        for (int64_t oi = 0; oi < ocg; ++oi) {
            float *dst = a.out + ((g * ocg + oi) * cg + c) * taps_n;
            for (int64_t t = 0; t < taps_n; ++t) dst[t] = dwt[(t * s.c + gc) * ocg + oi];
        }
    }
}

bool supports(const dk_conv2d_desc &d) { return cpu_isa() == Isa::avx512 && d.stride_h * d.stride_w <= 64; }

} // namespace

} // namespace conv

extern const Conv2dImpl conv2d_direct_impl = {"direct_avx512", conv::supports, conv::forward, conv::backward_data,
                                              conv::backward_weights};

} // namespace dk

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
//                    kernel flipped and transposed by addressing alone: row c, channel o, tap t
//                    read w[o, c, taps - 1 - t]. Strided backward data goes to im2col.
//   backward weights dW[o, c, tap] = sum_{n, p} dY~[o, p] X~[c, p + xoff[tap]]: dot products over
//                    flat positions (dy staged with zeros where ow >= OW), a 3 x 9 register tile
//                    of (output channel, tap) sums reduced across lanes once per block of positions.
//
// Weights are never copied: tiles broadcast them from the OIHW array, whose rows are read as
// sequential streams. Blocking, as in the GEMM (sgemm.cpp): a k block of cb input channels keeps
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
#include <cstdlib>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dk {

extern const Conv2dImpl conv2d_im2col_impl;

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
    if (const char *e = std::getenv("DK_CONV_CFG")) cfg = std::atoi(e); // TEMP experiment
    const int M = K.mr[cfg], V = K.v[cfg];
    const Strips strips = make_strips(G.out_h, G.out_w, st.wq, V);
    const int64_t panels = ceil_div(G.rows, M);
    // k block: the strip of every channel of the block (V vectors + the taps' halo in each used
    // phase) in about half of L1
    const int64_t per_channel = st.nph * (16 * V + G.taps->max_inphase + 16) * 4;
    int64_t cb = std::max<int64_t>(1, std::min<int64_t>(G.kch, (std::getenv("DK_CONV_L1") ? std::atoi(std::getenv("DK_CONV_L1")) : 24 << 10) / per_channel));
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

void backward_data(const Conv2dArgs &a) {
    const Shape s = shape_of(a);
    if (s.sh != 1 || s.sw != 1) return conv2d_im2col_impl.backward_data(a);
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
    G.a = a.in2, G.a_group = s.ocg() * s.cg() * s.taps(), G.rs = s.taps(), G.cs = s.cg() * s.taps();
    G.x = ys.floats(), G.st = &st, G.taps = &taps;
    G.out = a.out, G.ldc = s.h * s.w, G.out_h = s.h, G.out_w = s.w;
    G.bias = nullptr, G.relu = false;
    run_implicit_gemm(G);
}

// ---- backward weights -------------------------------------------------------------------------

void backward_weights(const Conv2dArgs &a) {
    const Kernels &K = conv_avx512;
    const Shape s = shape_of(a);
    const int64_t taps_n = s.taps(), cg = s.cg(), ocg = s.ocg(), wsize = s.oc * cg * taps_n;
    const Staging st = make_staging(s.sh, s.sw, s.pt, s.pl, s.h + s.pt + s.pb, s.w + s.pl + s.pr, s.kh, s.kw, s.dh, s.dw);
    const Taps taps = make_taps(st, s.kh, s.kw, s.dh, s.dw, false);
    const int64_t chs = st.chs();
    // dy~: per image and output channel, the oh rows at pitch wq, zero where ow >= OW, rounded up
    // to whole vectors
    const int64_t len = (s.oh * st.wq + 15) / 16 * 16;
    Workspace xs(s.n * s.c * chs * 4 + 64), ys(s.n * s.oc * len * 4 + 64);
    stage_all(st, a.in2, s.n * s.c, s.h, s.w, xs.floats());
    float *dys = ys.floats();
    const int64_t sp = s.oh * s.ow;
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < s.oc; ++o) {
        double sum = 0;
        for (int64_t n = 0; n < s.n; ++n) {
            const float *src = a.in + (n * s.oc + o) * sp;
            float *dst = dys + (n * s.oc + o) * len;
            std::memset(dst, 0, sizeof(float) * len);
            for (int64_t i = 0; i < s.oh; ++i) {
                std::memcpy(dst + i * st.wq, src + i * s.ow, sizeof(float) * s.ow);
                for (int64_t j = 0; j < s.ow; ++j) sum += src[i * s.ow + j];
            }
        }
        if (a.out_bias) a.out_bias[o] = static_cast<float>(sum);
    }
    // blocks of positions: whole images when they are small, else ranges of one image
    struct Block {
        int64_t n0, images, p0, len;
    };
    std::vector<Block> blocks;
    constexpr int64_t kBlock = 1024;
    if (len <= kBlock) {
        const int64_t per = std::max<int64_t>(1, kBlock / len);
        for (int64_t n = 0; n < s.n; n += per) blocks.push_back({n, std::min(per, s.n - n), 0, len});
    } else {
        const int64_t parts = ceil_div(len, kBlock), part = (ceil_div(len, parts) + 15) / 16 * 16;
        for (int64_t n = 0; n < s.n; ++n)
            for (int64_t p = 0; p < len; p += part) blocks.push_back({n, 1, p, std::min(part, len - p)});
    }
    const int64_t nblocks = static_cast<int64_t>(blocks.size());
    constexpr int MO = 3, NT = 9;
    const int64_t panels = ceil_div(ocg, MO), tgroups = ceil_div(taps_n, NT);
    // one block's contribution to dw (rows of panels [q0, q1) of every group) added into out
    auto block = [&](const Block &b, float *out, int64_t q0, int64_t q1) {
        for (int64_t g = 0; g < s.groups; ++g)
            for (int64_t q = q0; q < q1; ++q) {
                const int64_t o0 = q * MO;
                const int mo = static_cast<int>(std::min<int64_t>(MO, ocg - o0));
                for (int64_t c = 0; c < cg; ++c)
                    for (int64_t tg = 0; tg < tgroups; ++tg) {
                        const int64_t t0 = tg * NT;
                        DotTile t{};
                        t.nseg = b.images;
                        t.dy = dys + (b.n0 * s.oc + g * ocg + o0) * len + b.p0;
                        t.dy_seg = s.oc * len, t.dy_rs = len;
                        t.x = xs.floats() + (b.n0 * s.c + g * cg + c) * chs + b.p0;
                        t.x_seg = s.c * chs;
                        t.len = b.len;
                        t.xoff = taps.xoff.data() + t0;
                        t.out = out + ((g * ocg + o0) * cg + c) * taps_n + t0;
                        t.ldo = cg * taps_n;
                        t.woff = taps.woff.data(); // woff[t] = t: consecutive taps from t0
                        K.dot(t, mo, static_cast<int>(std::min<int64_t>(NT, taps_n - t0)));
                    }
            }
    };
    const int threads = max_threads();
    std::memset(a.out, 0, sizeof(float) * wsize);
    if (threads > 1 && nblocks >= 2 * threads) {
        // blocks split between threads; each sums into its own copy of dw, added up at the end
        Workspace partial(int64_t(threads - 1) * wsize * 4);
#pragma omp parallel num_threads(threads)
        {
#ifdef _OPENMP
            const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
#else
            const int tid = 0, nt = 1;
#endif
            float *out = tid == 0 ? a.out : partial.floats() + (tid - 1) * wsize;
            if (tid > 0) std::memset(out, 0, sizeof(float) * wsize);
            for (int64_t i = tid * nblocks / nt; i < (tid + 1) * nblocks / nt; ++i) block(blocks[i], out, 0, panels);
#pragma omp barrier
#pragma omp for schedule(static)
            for (int64_t i = 0; i < wsize; ++i)
                for (int k = 0; k < nt - 1; ++k) a.out[i] += partial.floats()[k * wsize + i];
        }
    } else {
        // few blocks: the threads split the output-channel panels
        const int64_t units = std::min<int64_t>(panels, 4 * threads), per = ceil_div(panels, units);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
        for (int64_t u = 0; u < units; ++u)
            for (const Block &b : blocks) block(b, a.out, u * per, std::min(panels, (u + 1) * per));
    }
}

bool supports(const dk_conv2d_desc &d) { return cpu_isa() == Isa::avx512 && d.stride_h * d.stride_w <= 64; }

} // namespace

} // namespace conv

extern const Conv2dImpl conv2d_direct_impl = {"direct_avx512", conv::supports, conv::forward, conv::backward_data,
                                              conv::backward_weights};

} // namespace dk

// 1x1 convolution (no padding) as the native GEMM on the NCHW data itself: per image and group,
// the activations are already the GEMM's row-major [channels, positions] operand, so there is no
// im2col and no copy for stride 1 (stride s > 1 first gathers every s-th pixel, the only copy).
//   forward           Y_n [oc, sp] = W [oc, c] X_n [c, sp], bias per row and the activation fused
//                     into the GEMM's tile epilogue (native_gemm_rows_bias)
//   backward data     dX_n [c, sp] = W^T dY_n (stride s: into a buffer, then scattered into zeroed dx)
//   backward weights  dW [oc, c] = sum_n dY_n X_n^T: per image accumulating (beta = 1) when the
//                     images are large; small images (sp < 512) are regrouped into [channels, n sp]
//                     first so that one GEMM with k = n sp runs instead of n GEMMs with a short k
// Threads: one (image, group) GEMM per thread when there are enough of them, else inside each GEMM.
#include "core/matmul.h"
#include "core/train_ops.h"
#include "core/workspace.h"
#include "cpu/conv/conv_shape.h"

#include <algorithm>
#include <cstring>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dk {

namespace conv {

namespace {

int max_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

dk_matmul_desc gemm_desc(int64_t m, int64_t n, int64_t k, bool ta, int64_t lda, bool tb, int64_t ldb, int64_t ldc,
                         float beta) {
    dk_matmul_desc g{};
    g.m = m, g.n = n, g.k = k, g.trans_a = ta, g.trans_b = tb, g.lda = lda, g.ldb = ldb, g.ldc = ldc;
    g.alpha = 1.0f, g.beta = beta;
    return g;
}

// out [count][oh * ow] = every s-th pixel of src [count][h][w].
void gather(const Shape &s, const float *src, int64_t count, float *out) {
    const int64_t sp = s.oh * s.ow;
#pragma omp parallel for schedule(static) if (count * sp >= (1 << 15))
    for (int64_t i = 0; i < count; ++i)
        for (int64_t y = 0; y < s.oh; ++y)
            for (int64_t x = 0; x < s.ow; ++x) out[i * sp + y * s.ow + x] = src[(i * s.h + y * s.sh) * s.w + x * s.sw];
}

bool strided(const Shape &s) { return s.sh != 1 || s.sw != 1; }

// f(n, g, threads) for every image and group: in parallel, one GEMM per thread, when there are at
// least two per thread or the GEMMs are too small to be split (under 8 MFLOP); else one after the
// other on every thread. Whole GEMMs per thread need no barrier: a threaded GEMM with a shared A
// block waits at one per k block, which on a busy machine costs a scheduler time slice each.
template <class F>
void for_each_gemm(const Shape &s, double flops_each, F f) {
    const int threads = max_threads();
    const int64_t items = s.n * s.groups;
    if (threads > 1 && items > 1 && (items >= 2 * threads || flops_each < double(1 << 23))) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int64_t i = 0; i < items; ++i) f(i / s.groups, i % s.groups, 1);
    } else {
        for (int64_t i = 0; i < items; ++i) f(i / s.groups, i % s.groups, threads);
    }
}

void forward(const Conv2dArgs &a) {
    const Shape s = shape_of(a);
    const int64_t sp = s.oh * s.ow, in_sp = strided(s) ? sp : s.h * s.w, cg = s.cg(), ocg = s.ocg();
    const float *x = a.in;
    Workspace buf;
    if (strided(s)) {
        buf = Workspace(s.n * s.c * sp * 4);
        gather(s, a.in, s.n * s.c, buf.floats());
        x = buf.floats();
    }
    for_each_gemm(s, 2.0 * ocg * cg * sp, [&](int64_t n, int64_t g, int threads) {
        native_gemm_rows_bias(gemm_desc(ocg, sp, cg, false, cg, false, sp, sp, 0.0f),
                              a.out + (n * s.oc + g * ocg) * sp, a.in2 + g * ocg * cg, x + (n * s.c + g * cg) * in_sp,
                              a.bias ? a.bias + g * ocg : nullptr, s.act, threads);
    });
}

void backward_data(const Conv2dArgs &a) {
    const Shape s = shape_of(a);
    const int64_t sp = s.oh * s.ow, cg = s.cg(), ocg = s.ocg();
    float *dx = a.out;
    Workspace buf;
    if (strided(s)) buf = Workspace(s.n * s.c * sp * 4), dx = buf.floats();
    for_each_gemm(s, 2.0 * ocg * cg * sp, [&](int64_t n, int64_t g, int threads) {
        native_gemm_rows_bias(gemm_desc(cg, sp, ocg, true, cg, false, sp, sp, 0.0f), dx + (n * s.c + g * cg) * sp,
                              a.in2 + g * ocg * cg, a.in + (n * s.oc + g * ocg) * sp, nullptr, DK_ACTIVATION_NONE,
                              threads);
    });
    if (strided(s)) {
        const int64_t count = s.n * s.c, hw = s.h * s.w;
#pragma omp parallel for schedule(static) if (count * hw >= (1 << 15))
        for (int64_t i = 0; i < count; ++i) {
            float *out = a.out + i * hw;
            std::memset(out, 0, sizeof(float) * hw);
            for (int64_t y = 0; y < s.oh; ++y)
                for (int64_t x = 0; x < s.ow; ++x) out[y * s.sh * s.w + x * s.sw] = dx[i * sp + y * s.ow + x];
        }
    }
}

void backward_weights(const Conv2dArgs &a) {
    const Shape s = shape_of(a);
    const int64_t sp = s.oh * s.ow, cg = s.cg(), ocg = s.ocg();
    const int threads = max_threads();
    const float *x = a.in2, *dy = a.in;
    int64_t x_sp = strided(s) ? sp : s.h * s.w;
    Workspace xbuf, ybuf;
    if (strided(s)) {
        xbuf = Workspace(s.n * s.c * sp * 4);
        gather(s, a.in2, s.n * s.c, xbuf.floats());
        x = xbuf.floats();
    }
    // dbias
    if (a.out_bias) {
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < s.oc; ++o) {
            double sum = 0;
            for (int64_t n = 0; n < s.n; ++n) {
                const float *row = dy + (n * s.oc + o) * sp;
                for (int64_t p = 0; p < sp; ++p) sum += row[p];
            }
            a.out_bias[o] = static_cast<float>(sum);
        }
    }
    if (s.n > 1 && sp < 512) {
        // regroup [n][ch][sp] -> [ch][n * sp] for x and dy: one GEMM per group with k = n sp
        const int64_t k = s.n * sp;
        Workspace xr(s.c * k * 4), yr(s.oc * k * 4);
#pragma omp parallel for schedule(static)
        for (int64_t n = 0; n < s.n; ++n) {
            for (int64_t c = 0; c < s.c; ++c) std::memcpy(xr.floats() + c * k + n * sp, x + (n * s.c + c) * x_sp, sizeof(float) * sp);
            for (int64_t o = 0; o < s.oc; ++o) std::memcpy(yr.floats() + o * k + n * sp, dy + (n * s.oc + o) * sp, sizeof(float) * sp);
        }
        for (int64_t g = 0; g < s.groups; ++g)
            native_gemm_rows_bias(gemm_desc(ocg, cg, k, false, k, true, k, cg, 0.0f), a.out + g * ocg * cg,
                                  yr.floats() + g * ocg * k, xr.floats() + g * cg * k, nullptr, DK_ACTIVATION_NONE,
                                  threads);
        return;
    }
    for (int64_t g = 0; g < s.groups; ++g)
        for (int64_t n = 0; n < s.n; ++n)
            native_gemm_rows_bias(gemm_desc(ocg, cg, sp, false, sp, true, x_sp, cg, n == 0 ? 0.0f : 1.0f),
                                  a.out + g * ocg * cg, dy + (n * s.oc + g * ocg) * sp, x + (n * s.c + g * cg) * x_sp,
                                  nullptr, DK_ACTIVATION_NONE, threads);
}

bool supports(const dk_conv2d_desc &d) {
    return d.kernel_h == 1 && d.kernel_w == 1 && d.pad_h == 0 && d.pad_w == 0 && d.pad_h_end == 0 && d.pad_w_end == 0 &&
           d.n > 0;
}

} // namespace

} // namespace conv

extern const Conv2dImpl conv2d_1x1_impl = {"1x1_gemm", conv::supports, conv::forward, conv::backward_data,
                                           conv::backward_weights};

} // namespace dk

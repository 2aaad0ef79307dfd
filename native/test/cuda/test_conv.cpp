// Convolution forward, backward data and backward weights (+ bias gradient) against direct
// double-precision loops, on ragged shapes with strides, padding, dilation and 1x1 filters.
#include "cuda_test.h"

namespace {
using dkct::Dev;
}

TEST(cuda_conv) {
    std::mt19937 rng(19);
    const dkc_conv_desc descs[] = {
        {2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1},  // 3x3, same padding
        {1, 4, 10, 11, 6, 3, 2, 2, 3, 1, 0, 1, 1}, // strided, asymmetric filter and stride
        {2, 2, 9, 9, 3, 3, 3, 2, 2, 2, 2, 2, 2},  // dilated and strided
        {1, 5, 4, 6, 7, 1, 1, 1, 1, 0, 0, 1, 1},  // 1x1
        {3, 17, 5, 5, 65, 3, 3, 1, 1, 0, 0, 1, 1}, // K and C*R*S past one 64-tile and one 16-slice
    };
    for (const auto &d : descs) {
        const int64_t P = (d.h + 2 * d.pad_h - d.dil_h * (d.r - 1) - 1) / d.stride_h + 1;
        const int64_t Q = (d.w + 2 * d.pad_w - d.dil_w * (d.s - 1) - 1) / d.stride_w + 1;
        const int64_t xs = d.n * d.c * d.h * d.w, ws = d.k * d.c * d.r * d.s, ys = d.n * d.k * P * Q;
        const auto x = dkct::random_vec(xs, rng), w = dkct::random_vec(ws, rng), bias = dkct::random_vec(d.k, rng);
        const auto dy = dkct::random_vec(ys, rng);
        Dev<float> dx_(x), dw_(w), dbias_(bias), ddy(dy), y(ys), dxo(xs), dwo(ws), dbo(d.k);
        if (!DKC_OK(dkc_conv_forward(&d, y.p, dx_.p, dw_.p, dbias_.p, nullptr)) ||
            !DKC_OK(dkc_conv_backward_data(&d, dxo.p, ddy.p, dw_.p, nullptr)) ||
            !DKC_OK(dkc_conv_backward_weights(&d, dwo.p, dbo.p, ddy.p, dx_.p, nullptr)))
            return;
        std::vector<double> wy(ys), wdx(xs, 0), wdw(ws, 0), wdb(d.k, 0), my(ys), mdx(xs, 0), mdw(ws, 0);
        for (int64_t n = 0; n < d.n; ++n)
            for (int64_t k = 0; k < d.k; ++k)
                for (int64_t p = 0; p < P; ++p)
                    for (int64_t q = 0; q < Q; ++q) {
                        const int64_t yo = ((n * d.k + k) * P + p) * Q + q;
                        double s = bias[k], m = std::fabs(bias[k]);
                        for (int64_t c = 0; c < d.c; ++c)
                            for (int r = 0; r < d.r; ++r)
                                for (int t = 0; t < d.s; ++t) {
                                    const int64_t ih = p * d.stride_h - d.pad_h + r * d.dil_h;
                                    const int64_t iw = q * d.stride_w - d.pad_w + t * d.dil_w;
                                    if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) continue;
                                    const int64_t xi = ((n * d.c + c) * d.h + ih) * d.w + iw;
                                    const int64_t wi = ((k * d.c + c) * d.r + r) * d.s + t;
                                    s += double(w[wi]) * x[xi], m += std::fabs(w[wi] * x[xi]);
                                    wdx[xi] += double(w[wi]) * dy[yo], mdx[xi] += std::fabs(w[wi] * dy[yo]);
                                    wdw[wi] += double(dy[yo]) * x[xi], mdw[wi] += std::fabs(dy[yo] * x[xi]);
                                }
                        wy[yo] = s, my[yo] = m;
                        wdb[k] += dy[yo];
                    }
        char what[96];
        std::snprintf(what, sizeof what, "conv n%lld c%lld %lldx%lld k%lld r%ds%d", (long long)d.n, (long long)d.c,
                      (long long)d.h, (long long)d.w, (long long)d.k, d.r, d.s);
        const std::string ws_ = what;
        dkct::close(y.get(), wy, 1e-5, 1e-5, ws_ + " forward", &my);
        dkct::close(dxo.get(), wdx, 1e-5, 1e-5, ws_ + " backward data", &mdx);
        dkct::close(dwo.get(), wdw, 1e-5, 1e-5, ws_ + " backward weights", &mdw);
        dkct::close(dbo.get(), wdb, 1e-4, 1e-5, ws_ + " bias gradient");
    }
    dkc_conv_desc bad = descs[0];
    bad.dil_h = 0;
    float *p = reinterpret_cast<float *>(16);
    dkct::expect_error(dkc_conv_forward(&bad, p, p, p, nullptr, nullptr), DK_INVALID_ARGUMENT, "dil_h", "dil_h = 0");
    bad = descs[0], bad.r = 12;
    dkct::expect_error(dkc_conv_backward_data(&bad, p, p, p, nullptr), DK_INVALID_ARGUMENT, "larger than the padded",
                       "filter too large");
    dkct::expect_error(dkc_conv_backward_weights(&descs[0], p, nullptr, nullptr, p, nullptr), DK_NULL_POINTER, "dy",
                       "dy = NULL");
}

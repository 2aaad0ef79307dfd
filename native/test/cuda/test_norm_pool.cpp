// Batch norm (training forward with running statistics, backward) and 2-D max / average pooling
// (forward, backward) against double references, on ragged NCHW shapes, strides and padding.
#include "cuda_test.h"

#include <algorithm>

namespace {
using dkct::Dev;
}

TEST(cuda_batchnorm) {
    std::mt19937 rng(13);
    const float eps = 1e-5f, momentum = 0.1f;
    const int64_t shapes[][3] = {{1, 1, 1}, {2, 3, 5}, {3, 5, 37}, {5, 2, 300}};
    for (const auto &s : shapes) {
        const int64_t n = s[0], c = s[1], hw = s[2], total = n * c * hw;
        auto x = dkct::random_vec(total, rng, -2.0f, 2.0f);
        for (auto &v : x) v += 1.5f;
        const auto gamma = dkct::random_vec(c, rng, 0.5f, 1.5f), beta = dkct::random_vec(c, rng);
        const auto dy = dkct::random_vec(total, rng);
        const auto rm0 = dkct::random_vec(c, rng), rv0 = dkct::random_vec(c, rng, 0.5f, 1.0f);
        Dev<float> dx_(x), dg(gamma), db(beta), ddy(dy), y(total), mean(c), rstd(c), rm(rm0), rv(rv0);
        Dev<float> dxo(total), dgo(c), dbo(c);
        if (!DKC_OK(dkc_batchnorm_forward(y.p, mean.p, rstd.p, rm.p, rv.p, dx_.p, dg.p, db.p, n, c, hw, eps, momentum,
                                          nullptr)))
            return;
        if (!DKC_OK(dkc_batchnorm_backward(dxo.p, dgo.p, dbo.p, ddy.p, dx_.p, mean.p, rstd.p, dg.p, n, c, hw, nullptr)))
            return;
        std::vector<double> wy(total), wmean(c), wrstd(c), wrm(c), wrv(c), wdx(total), wdg(c), wdb(c), mag(total);
        const double count = double(n * hw);
        for (int64_t ch = 0; ch < c; ++ch) {
            double mu = 0, var = 0;
            for (int64_t b = 0; b < n; ++b)
                for (int64_t i = 0; i < hw; ++i) mu += x[(b * c + ch) * hw + i];
            mu /= count;
            for (int64_t b = 0; b < n; ++b)
                for (int64_t i = 0; i < hw; ++i) var += std::pow(x[(b * c + ch) * hw + i] - mu, 2);
            var /= count;
            const double r = 1 / std::sqrt(var + eps);
            wmean[ch] = mu, wrstd[ch] = r;
            wrm[ch] = (1 - momentum) * rm0[ch] + momentum * mu;
            wrv[ch] = (1 - momentum) * rv0[ch] + momentum * (count > 1 ? var * count / (count - 1) : var);
            double sdy = 0, sdyx = 0, asum = 0;
            for (int64_t b = 0; b < n; ++b)
                for (int64_t i = 0; i < hw; ++i) {
                    const int64_t at = (b * c + ch) * hw + i;
                    const double xh = (x[at] - mu) * r;
                    wy[at] = xh * gamma[ch] + beta[ch];
                    sdy += dy[at], sdyx += dy[at] * xh, asum += std::fabs(dy[at]) * (1 + std::fabs(xh));
                }
            wdg[ch] = sdyx, wdb[ch] = sdy;
            for (int64_t b = 0; b < n; ++b)
                for (int64_t i = 0; i < hw; ++i) {
                    const int64_t at = (b * c + ch) * hw + i;
                    const double xh = (x[at] - mu) * r;
                    wdx[at] = gamma[ch] * r / count * (count * dy[at] - sdy - xh * sdyx);
                    mag[at] = gamma[ch] * r / count * (count * std::fabs(dy[at]) + (1 + std::fabs(xh)) * asum);
                }
        }
        const std::string what = "batchnorm " + std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(hw);
        dkct::close(y.get(), wy, 1e-5, 1e-4, what + " y");
        dkct::close(mean.get(), wmean, 1e-6, 1e-5, what + " mean");
        dkct::close(rstd.get(), wrstd, 1e-6, 1e-5, what + " rstd");
        dkct::close(rm.get(), wrm, 1e-6, 1e-5, what + " running_mean");
        dkct::close(rv.get(), wrv, 1e-6, 1e-4, what + " running_var");
        dkct::close(dxo.get(), wdx, 1e-5, 1e-4, what + " dx", &mag);
        dkct::close(dgo.get(), wdg, 1e-4, 1e-4, what + " dgamma");
        dkct::close(dbo.get(), wdb, 1e-4, 1e-5, what + " dbeta");
    }
    float *p = reinterpret_cast<float *>(16);
    dkct::expect_error(dkc_batchnorm_forward(p, p, p, p, nullptr, p, p, p, 2, 3, 4, 1e-5f, 0.1f, nullptr),
                       DK_INVALID_ARGUMENT, "running_var", "running_mean without running_var");
    dkct::expect_error(dkc_batchnorm_backward(p, p, p, p, p, p, p, p, 2, 0, 4, nullptr), DK_INVALID_ARGUMENT, "c",
                       "c = 0");
}

TEST(cuda_pooling) {
    std::mt19937 rng(17);
    const dkc_pool_desc descs[] = {
        {1, 1, 5, 7, 2, 2, 2, 2, 0, 0},  // ragged: the last row and column are not covered
        {2, 3, 9, 8, 3, 3, 2, 2, 1, 1},  // overlapping windows with padding
        {1, 2, 6, 11, 3, 2, 1, 3, 2, 1}, // stride 1 rows, stride 3 columns, padding up to k - 1
        {3, 1, 1, 1, 1, 1, 1, 1, 0, 0},
    };
    for (const auto &d : descs) {
        const int64_t oh = (d.h + 2 * d.ph - d.kh) / d.sh + 1, ow = (d.w + 2 * d.pw - d.kw) / d.sw + 1;
        const int64_t in = d.n * d.c * d.h * d.w, out = d.n * d.c * oh * ow;
        const auto x = dkct::random_vec(in, rng), dy = dkct::random_vec(out, rng);
        Dev<float> dx_(x), ddy(dy), ymax(out), yavg(out), dxmax(in), dxavg(in);
        Dev<int32_t> arg(out);
        if (!DKC_OK(dkc_maxpool_forward(&d, ymax.p, arg.p, dx_.p, nullptr)) ||
            !DKC_OK(dkc_maxpool_backward(&d, dxmax.p, ddy.p, arg.p, nullptr)) ||
            !DKC_OK(dkc_avgpool_forward(&d, yavg.p, dx_.p, nullptr)) ||
            !DKC_OK(dkc_avgpool_backward(&d, dxavg.p, ddy.p, nullptr)))
            return;
        std::vector<double> wmax(out), wavg(out), wdmax(in, 0), wdavg(in, 0);
        for (int64_t nc = 0; nc < d.n * d.c; ++nc)
            for (int64_t oy = 0; oy < oh; ++oy)
                for (int64_t ox = 0; ox < ow; ++ox) {
                    const int64_t o = (nc * oh + oy) * ow + ox;
                    double best = -INFINITY, sum = 0;
                    int64_t arg_at = -1, count = 0;
                    for (int i = 0; i < d.kh; ++i)
                        for (int j = 0; j < d.kw; ++j) {
                            const int64_t iy = oy * d.sh - d.ph + i, ix = ox * d.sw - d.pw + j;
                            if (iy < 0 || iy >= d.h || ix < 0 || ix >= d.w) continue;
                            const int64_t at = (nc * d.h + iy) * d.w + ix;
                            if (x[at] > best) best = x[at], arg_at = at;
                            sum += x[at], ++count;
                        }
                    wmax[o] = best, wavg[o] = sum / count;
                    wdmax[arg_at] += dy[o];
                    for (int i = 0; i < d.kh; ++i)
                        for (int j = 0; j < d.kw; ++j) {
                            const int64_t iy = oy * d.sh - d.ph + i, ix = ox * d.sw - d.pw + j;
                            if (iy >= 0 && iy < d.h && ix >= 0 && ix < d.w) wdavg[(nc * d.h + iy) * d.w + ix] += dy[o] / count;
                        }
                }
        const std::string what = "pool " + std::to_string(d.h) + "x" + std::to_string(d.w) + " k" +
                                 std::to_string(d.kh) + "x" + std::to_string(d.kw);
        dkct::close(ymax.get(), wmax, 0, 0, what + " max");
        dkct::close(dxmax.get(), wdmax, 1e-6, 1e-6, what + " max backward");
        dkct::close(yavg.get(), wavg, 1e-6, 1e-5, what + " avg");
        dkct::close(dxavg.get(), wdavg, 1e-6, 1e-5, what + " avg backward");
    }
    dkc_pool_desc bad = descs[1];
    bad.ph = 3;
    float *p = reinterpret_cast<float *>(16);
    dkct::expect_error(dkc_avgpool_forward(&bad, p, p, nullptr), DK_INVALID_ARGUMENT, "ph", "padding >= window");
    bad = descs[1], bad.sw = 0;
    dkct::expect_error(dkc_maxpool_forward(&bad, p, reinterpret_cast<int32_t *>(p), p, nullptr), DK_INVALID_ARGUMENT,
                       "sw", "stride 0");
}

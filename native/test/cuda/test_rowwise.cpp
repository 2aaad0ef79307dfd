// Softmax (forward, backward), fused softmax + cross-entropy, and layer norm (forward, backward)
// against double-precision references written out here, on ragged row lengths: shorter than a
// warp, one more than a warp, long rows; rows not a multiple of the 8 rows of a block.
#include "cuda_test.h"

#include <algorithm>

namespace {

using dkct::Dev;

const int64_t kRows[] = {1, 13, 37};
const int64_t kCols[] = {1, 5, 31, 33, 100, 1000};

std::vector<double> softmax_ref(const std::vector<float> &x, int64_t rows, int64_t cols) {
    std::vector<double> y(x.size());
    for (int64_t r = 0; r < rows; ++r) {
        double m = -INFINITY, s = 0;
        for (int64_t j = 0; j < cols; ++j) m = std::max(m, double(x[r * cols + j]));
        for (int64_t j = 0; j < cols; ++j) s += std::exp(x[r * cols + j] - m);
        for (int64_t j = 0; j < cols; ++j) y[r * cols + j] = std::exp(x[r * cols + j] - m) / s;
    }
    return y;
}

} // namespace

TEST(cuda_softmax) {
    std::mt19937 rng(3);
    for (int64_t rows : kRows)
        for (int64_t cols : kCols) {
            // Large logits (offset 80) would overflow exp without the max subtraction.
            auto x = dkct::random_vec(rows * cols, rng, -5.0f, 5.0f);
            for (size_t i = 0; i < x.size(); i += 3) x[i] += 80.0f;
            Dev<float> dx(x), dy(x.size());
            if (!DKC_OK(dkc_softmax_forward(dy.p, dx.p, rows, cols, 0, nullptr))) return;
            const auto y = dy.get();
            const auto want = softmax_ref(x, rows, cols);
            dkct::close(y, want, 1e-7, 2e-5, "softmax " + std::to_string(rows) + "x" + std::to_string(cols));

            const auto g = dkct::random_vec(x.size(), rng);
            Dev<float> dg(g), dgrad(x.size());
            if (!DKC_OK(dkc_softmax_backward(dgrad.p, dg.p, dy.p, rows, cols, 0, nullptr))) return;
            std::vector<double> want_dx(x.size()), mag(x.size());
            for (int64_t r = 0; r < rows; ++r) {
                double dot = 0, adot = 0;
                for (int64_t j = 0; j < cols; ++j)
                    dot += double(g[r * cols + j]) * y[r * cols + j], adot += std::fabs(g[r * cols + j] * y[r * cols + j]);
                for (int64_t j = 0; j < cols; ++j) {
                    want_dx[r * cols + j] = y[r * cols + j] * (g[r * cols + j] - dot);
                    mag[r * cols + j] = y[r * cols + j] * (std::fabs(g[r * cols + j]) + adot);
                }
            }
            dkct::close(dgrad.get(), want_dx, 1e-7, 1e-5,
                        "softmax_backward " + std::to_string(rows) + "x" + std::to_string(cols), &mag);
        }
}

TEST(cuda_softmax_cross_entropy) {
    std::mt19937 rng(5);
    for (int64_t rows : {int64_t(1), int64_t(11), int64_t(29)})
        for (int64_t classes : {int64_t(1), int64_t(3), int64_t(10), int64_t(33), int64_t(257)})
            for (bool in_place : {false, true}) {
                const auto x = dkct::random_vec(rows * classes, rng, -4.0f, 4.0f);
                std::vector<int32_t> t(rows);
                for (auto &v : t) v = int32_t(rng() % classes);
                const float scale = 1.0f / float(rows);
                Dev<float> dx(x), dloss(rows), dgrad(x.size());
                Dev<int32_t> dt(t);
                float *grad = in_place ? dx.p : dgrad.p;
                if (!DKC_OK(dkc_softmax_cross_entropy(dloss.p, grad, dx.p, dt.p, rows, classes, scale, nullptr))) return;
                const auto p = softmax_ref(x, rows, classes);
                std::vector<double> want_loss(rows), want_grad(x.size());
                for (int64_t r = 0; r < rows; ++r) {
                    want_loss[r] = -std::log(p[r * classes + t[r]]);
                    for (int64_t j = 0; j < classes; ++j)
                        want_grad[r * classes + j] = (p[r * classes + j] - (j == t[r] ? 1.0 : 0.0)) * scale;
                }
                const std::string what = "cross_entropy " + std::to_string(rows) + "x" + std::to_string(classes) +
                                         (in_place ? " in place" : "");
                dkct::close(dloss.get(), want_loss, 1e-5, 1e-5, what + " loss");
                dkct::close(in_place ? dx.get() : dgrad.get(), want_grad, 1e-7, 1e-5, what + " dlogits");
            }
}

TEST(cuda_softmax_cross_entropy_bad_target) {
    const std::vector<float> x = {1, 2, 3, 4, 5, 6};
    const std::vector<int32_t> t = {2, 7}; // row 1 out of range: NaN loss and gradient row
    Dev<float> dx(x), dloss(2), dgrad(6);
    Dev<int32_t> dt(t);
    if (!DKC_OK(dkc_softmax_cross_entropy(dloss.p, dgrad.p, dx.p, dt.p, 2, 3, 1.0f, nullptr))) return;
    const auto loss = dloss.get(), grad = dgrad.get();
    CHECK(std::isfinite(loss[0]) && std::isnan(loss[1]));
    CHECK(std::isfinite(grad[0]) && std::isnan(grad[3]) && std::isnan(grad[5]));
    dkct::expect_error(dkc_softmax_cross_entropy(dloss.p, dgrad.p, dx.p, dt.p, 2, 0, 1.0f, nullptr),
                       DK_INVALID_ARGUMENT, "classes", "classes = 0");
    dkct::expect_error(dkc_softmax_cross_entropy(dloss.p, dgrad.p, dx.p, nullptr, 2, 3, 1.0f, nullptr),
                       DK_NULL_POINTER, "targets", "targets = NULL");
    dkct::expect_error(dkc_softmax_forward(dgrad.p, dx.p, -1, 3, 0, nullptr), DK_INVALID_ARGUMENT, "rows", "rows < 0");
}

TEST(cuda_layernorm) {
    std::mt19937 rng(9);
    const float eps = 1e-5f;
    for (int64_t rows : {int64_t(1), int64_t(9), int64_t(17)})
        for (int64_t cols : {int64_t(1), int64_t(7), int64_t(33), int64_t(130)}) {
            auto x = dkct::random_vec(rows * cols, rng, -2.0f, 2.0f);
            for (auto &v : x) v += 3.0f; // a mean far from 0
            const auto gamma = dkct::random_vec(cols, rng, 0.5f, 1.5f), beta = dkct::random_vec(cols, rng);
            const auto dy = dkct::random_vec(rows * cols, rng);
            Dev<float> dx_(x), dgam(gamma), dbet(beta), dyd(dy), y(x.size()), mean(rows), rstd(rows);
            Dev<float> dxo(x.size()), dgo(cols), dbo(cols);
            if (!DKC_OK(dkc_layernorm_forward(y.p, mean.p, rstd.p, dx_.p, dgam.p, dbet.p, rows, cols, eps, nullptr)))
                return;
            if (!DKC_OK(dkc_layernorm_backward(dxo.p, dgo.p, dbo.p, dyd.p, dx_.p, mean.p, rstd.p, dgam.p, rows, cols,
                                               nullptr)))
                return;
            std::vector<double> wy(x.size()), wmean(rows), wrstd(rows), wdx(x.size()), wdg(cols, 0), wdb(cols, 0),
                mag_dx(x.size()), mag_dg(cols, 0);
            for (int64_t r = 0; r < rows; ++r) {
                double mu = 0, var = 0;
                for (int64_t j = 0; j < cols; ++j) mu += x[r * cols + j];
                mu /= cols;
                for (int64_t j = 0; j < cols; ++j) var += (x[r * cols + j] - mu) * (x[r * cols + j] - mu);
                var /= cols;
                const double rs = 1 / std::sqrt(var + eps);
                wmean[r] = mu, wrstd[r] = rs;
                double sg = 0, sgx = 0, asg = 0;
                for (int64_t j = 0; j < cols; ++j) {
                    const double xh = (x[r * cols + j] - mu) * rs;
                    wy[r * cols + j] = xh * gamma[j] + beta[j];
                    const double g = double(dy[r * cols + j]) * gamma[j];
                    sg += g, sgx += g * xh, asg += std::fabs(g) * (1 + std::fabs(xh));
                    wdg[j] += dy[r * cols + j] * xh, wdb[j] += dy[r * cols + j];
                    mag_dg[j] += std::fabs(dy[r * cols + j] * xh) + std::fabs(dy[r * cols + j]);
                }
                for (int64_t j = 0; j < cols; ++j) {
                    const double xh = (x[r * cols + j] - mu) * rs, g = double(dy[r * cols + j]) * gamma[j];
                    wdx[r * cols + j] = rs * (g - sg / cols - xh * sgx / cols);
                    mag_dx[r * cols + j] = rs * (std::fabs(g) + (1 + std::fabs(xh)) * asg / cols);
                }
            }
            const std::string what = "layernorm " + std::to_string(rows) + "x" + std::to_string(cols);
            dkct::close(y.get(), wy, 1e-5, 1e-4, what + " y");
            dkct::close(mean.get(), wmean, 1e-6, 1e-5, what + " mean");
            dkct::close(rstd.get(), wrstd, 1e-6, 1e-5, what + " rstd");
            dkct::close(dxo.get(), wdx, 1e-5, 1e-4, what + " dx", &mag_dx);
            dkct::close(dgo.get(), wdg, 1e-5, 1e-4, what + " dgamma", &mag_dg);
            dkct::close(dbo.get(), wdb, 1e-5, 1e-5, what + " dbeta");
        }
    float *p = reinterpret_cast<float *>(16);
    dkct::expect_error(dkc_layernorm_forward(p, p, p, p, p, p, 2, 3, 0.0f, nullptr), DK_INVALID_ARGUMENT, "eps",
                       "eps = 0");
    dkct::expect_error(dkc_layernorm_backward(p, p, p, p, p, p, p, p, 2, 0, nullptr), DK_INVALID_ARGUMENT, "cols",
                       "cols = 0");
}

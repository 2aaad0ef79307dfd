// The training ops: conv2d's im2col + GEMM path on every CPU backend against the direct
// reference; pooling, softmax, cross-entropy and normalization against values worked out by
// hand; optimizer steps against their formulas; bad input rejected with the argument named.
#include "check.h"
#include "deepkern.h"

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using dkt::random_vec;

float max_rel_diff(const std::vector<float> &a, const std::vector<float> &b) {
    float worst = 0;
    for (size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::fabs(a[i] - b[i]) / (1.0f + std::fabs(b[i])));
    return worst;
}

bool has_onednn() { return dk_backend_check(DK_BACKEND_ONEDNN) == DK_OK; }

} // namespace

TEST(train_conv2d_im2col_matches_ref) {
    std::mt19937 rng(7);
    struct S { int64_t n, c, h, w, oc, k, s, p; };
    const S shapes[] = {{2, 1, 7, 9, 3, 3, 1, 1}, {3, 4, 8, 8, 5, 3, 2, 0}, {1, 3, 5, 6, 2, 2, 1, 1},
                        {2, 2, 4, 4, 3, 1, 1, 0}, {1, 5, 11, 7, 4, 5, 3, 2}};
    for (const S &s : shapes) {
        dk_conv2d_desc d{s.n, s.c, s.h, s.w, s.oc, s.k, s.k, s.s, s.s, s.p, s.p, s.p, s.p, 1, 1, 1, DK_ACTIVATION_NONE};
        const int64_t oh = (s.h + 2 * s.p - s.k) / s.s + 1, ow = (s.w + 2 * s.p - s.k) / s.s + 1;
        auto x = random_vec(s.n * s.c * s.h * s.w, rng), w = random_vec(s.oc * s.c * s.k * s.k, rng);
        auto bias = random_vec(s.oc, rng), dy = random_vec(s.n * s.oc * oh * ow, rng);
        std::vector<float> y0(dy.size()), dx0(x.size()), dw0(w.size()), db0(s.oc);
        CHECK(dk_conv2d_forward(DK_BACKEND_REF, &d, y0.data(), y0.size(), x.data(), x.size(), w.data(), w.size(),
                                bias.data(), bias.size()) == DK_OK);
        CHECK(dk_conv2d_backward_data(DK_BACKEND_REF, &d, dx0.data(), dx0.size(), dy.data(), dy.size(), w.data(),
                                      w.size()) == DK_OK);
        CHECK(dk_conv2d_backward_weights(DK_BACKEND_REF, &d, dw0.data(), dw0.size(), db0.data(), db0.size(),
                                         dy.data(), dy.size(), x.data(), x.size()) == DK_OK);
        std::vector<dk_backend> backends = {DK_BACKEND_NATIVE};
        if (has_onednn()) backends.push_back(DK_BACKEND_ONEDNN);
        for (dk_backend b : backends) {
            std::vector<float> y(dy.size(), NAN), dx(x.size(), NAN), dw(w.size(), NAN), db(s.oc, NAN);
            CHECK(dk_conv2d_forward(b, &d, y.data(), y.size(), x.data(), x.size(), w.data(), w.size(), bias.data(),
                                    bias.size()) == DK_OK);
            CHECK(dk_conv2d_backward_data(b, &d, dx.data(), dx.size(), dy.data(), dy.size(), w.data(), w.size()) == DK_OK);
            CHECK(dk_conv2d_backward_weights(b, &d, dw.data(), dw.size(), db.data(), db.size(), dy.data(), dy.size(),
                                             x.data(), x.size()) == DK_OK);
            CHECK_MSG(max_rel_diff(y, y0) < 1e-4f, "forward, backend " + std::to_string(b));
            CHECK_MSG(max_rel_diff(dx, dx0) < 1e-4f, "backward data, backend " + std::to_string(b));
            CHECK_MSG(max_rel_diff(dw, dw0) < 1e-4f, "backward weights, backend " + std::to_string(b));
            CHECK_MSG(max_rel_diff(db, db0) < 1e-4f, "bias gradient, backend " + std::to_string(b));
        }
    }
}

TEST(train_pool_softmax_norm_against_formulas) {
    // 2x2 max and average pooling, stride 2, of a 4x4 plane holding 0..15.
    std::vector<float> x(16);
    for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i);
    dk_pool2d_desc p{DK_POOL_MAX, 1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 0};
    std::vector<float> y(4), dx(16);
    CHECK(dk_pool2d_forward(DK_BACKEND_NATIVE, &p, y.data(), 4, x.data(), 16) == DK_OK);
    CHECK(y == (std::vector<float>{5, 7, 13, 15}));
    std::vector<float> dy = {1, 2, 3, 4};
    CHECK(dk_pool2d_backward(DK_BACKEND_NATIVE, &p, dx.data(), 16, dy.data(), 4, x.data(), 16) == DK_OK);
    CHECK(dx[5] == 1 && dx[7] == 2 && dx[13] == 3 && dx[15] == 4 && dx[0] == 0);
    p.alg = DK_POOL_AVG;
    CHECK(dk_pool2d_forward(DK_BACKEND_NATIVE, &p, y.data(), 4, x.data(), 16) == DK_OK);
    CHECK(y == (std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f}));

    // Softmax of equal logits is uniform; cross-entropy of uniform logits over 4 classes is log 4.
    std::vector<float> logits(8, 0.5f), probs(8), loss(1), labels = {1, 3}, dlogits(8);
    dk_xent_desc xd{2, 4, 0.0f};
    CHECK(dk_softmax_xent_forward(DK_BACKEND_NATIVE, &xd, loss.data(), 1, probs.data(), 8, logits.data(), 8,
                                  labels.data(), 2) == DK_OK);
    CHECK(std::fabs(loss[0] - std::log(4.0f)) < 1e-6f);
    CHECK(std::fabs(probs[3] - 0.25f) < 1e-7f);
    CHECK(dk_softmax_xent_backward(DK_BACKEND_NATIVE, &xd, 1.0f, dlogits.data(), 8, probs.data(), 8, labels.data(),
                                   2) == DK_OK);
    CHECK(std::fabs(dlogits[1] - (0.25f - 1.0f) / 2) < 1e-7f && std::fabs(dlogits[0] - 0.25f / 2) < 1e-7f);

    // Batch norm in training mode: each channel of the output has mean beta and variance gamma^2.
    std::mt19937 rng(3);
    const int64_t n = 8, c = 3, sp = 5;
    auto bx = random_vec(n * c * sp, rng);
    std::vector<float> by(bx.size()), mean(c), invstd(c), rm(c, 0.0f), rv(c, 1.0f), gamma = {1, 2, 3}, beta = {0, 1, -1};
    dk_batchnorm_desc bd{n, c, sp, 1e-5f, 0.1f, 1};
    CHECK(dk_batchnorm_forward(DK_BACKEND_NATIVE, &bd, by.data(), by.size(), mean.data(), c, invstd.data(), c,
                               rm.data(), c, rv.data(), c, bx.data(), bx.size(), gamma.data(), c, beta.data(), c) == DK_OK);
    for (int64_t ch = 0; ch < c; ++ch) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < sp; ++j) {
                const double v = by[(i * c + ch) * sp + j];
                s += v, s2 += v * v;
            }
        const double m = s / (n * sp), var = s2 / (n * sp) - m * m;
        CHECK_MSG(std::fabs(m - beta[ch]) < 1e-4, "channel mean");
        CHECK_MSG(std::fabs(var - gamma[ch] * gamma[ch]) < 1e-3 * gamma[ch] * gamma[ch], "channel variance");
        CHECK(std::fabs(rm[ch] - 0.1f * mean[ch]) < 1e-6f);
    }
}

TEST(train_optimizer_steps) {
    std::vector<float> p = {1.0f, -2.0f}, g = {0.5f, -1.0f}, s1(2, 0.0f), s2(2, 0.0f);
    dk_optim_desc d{};
    d.alg = DK_OPTIM_SGD, d.n = 2, d.lr = 0.1f, d.momentum = 0.9f, d.eps = 1e-8f;
    CHECK(dk_optimizer_step(DK_BACKEND_NATIVE, &d, p.data(), 2, s1.data(), 2, s2.data(), 2, g.data(), 2) == DK_OK);
    CHECK(std::fabs(p[0] - 0.95f) < 1e-7f && std::fabs(s1[0] - 0.5f) < 1e-7f);
    CHECK(dk_optimizer_step(DK_BACKEND_NATIVE, &d, p.data(), 2, s1.data(), 2, s2.data(), 2, g.data(), 2) == DK_OK);
    CHECK(std::fabs(p[0] - (0.95f - 0.1f * 0.95f)) < 1e-6f); // v = 0.9 * 0.5 + 0.5
    // Adam's first step moves every coordinate by about lr against the gradient's sign.
    std::vector<float> q = {1.0f, -2.0f}, m(2, 0.0f), v(2, 0.0f);
    dk_optim_desc a{};
    a.alg = DK_OPTIM_ADAM, a.n = 2, a.lr = 0.01f, a.beta1 = 0.9f, a.beta2 = 0.999f, a.eps = 1e-8f, a.step = 1;
    CHECK(dk_optimizer_step(DK_BACKEND_NATIVE, &a, q.data(), 2, m.data(), 2, v.data(), 2, g.data(), 2) == DK_OK);
    CHECK(std::fabs(q[0] - 0.99f) < 1e-5f && std::fabs(q[1] - (-1.99f)) < 1e-5f);
}

TEST(train_bad_input_names_the_argument) {
    std::vector<float> logits(6), probs(6), loss(1), labels = {0, 3};
    dk_xent_desc xd{2, 3, 0.0f};
    CHECK(dk_softmax_xent_forward(DK_BACKEND_NATIVE, &xd, loss.data(), 1, probs.data(), 6, logits.data(), 6,
                                  labels.data(), 2) == DK_INVALID_ARGUMENT);
    CHECK_MSG(std::string(dk_last_error()).find("labels[1] = 3") != std::string::npos, dk_last_error());
    labels[1] = 1.5f;
    CHECK(dk_softmax_xent_forward(DK_BACKEND_NATIVE, &xd, loss.data(), 1, probs.data(), 6, logits.data(), 6,
                                  labels.data(), 2) == DK_INVALID_ARGUMENT);
    dk_conv2d_desc cd{1, 2, 5, 5, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, DK_ACTIVATION_NONE};
    std::vector<float> y(27), x(50), w(54);
    CHECK(dk_conv2d_forward(DK_BACKEND_NATIVE, &cd, y.data(), y.size(), x.data(), 49, w.data(), w.size(), nullptr, 0) ==
          DK_INVALID_ARGUMENT);
    CHECK_MSG(std::string(dk_last_error()).find("x needs 50 floats") != std::string::npos, dk_last_error());
    CHECK(dk_conv2d_forward(DK_BACKEND_NATIVE, &cd, y.data(), y.size(), x.data(), x.size(), nullptr, 54, nullptr, 0) ==
          DK_NULL_POINTER);
    CHECK_MSG(std::string(dk_last_error()).find("w must not be null") != std::string::npos, dk_last_error());
    cd.kernel_h = 9;
    CHECK(dk_conv2d_forward(DK_BACKEND_NATIVE, &cd, y.data(), y.size(), x.data(), x.size(), w.data(), w.size(), nullptr,
                            0) == DK_INVALID_ARGUMENT);
    CHECK_MSG(std::string(dk_last_error()).find("kernel_h") != std::string::npos, dk_last_error());
    dk_nd_desc nd{};
    nd.rank = 1, nd.shape[0] = 4, nd.out_strides[0] = 1, nd.a_strides[0] = 1, nd.b_strides[0] = 1;
    std::vector<float> buf(8);
    CHECK(dk_binary(DK_BACKEND_NATIVE, DK_BINARY_ADD, &nd, buf.data() + 2, 6, buf.data(), 8, buf.data() + 4, 4) ==
          DK_INVALID_ARGUMENT);
    CHECK_MSG(std::string(dk_last_error()).find("out must not overlap a") != std::string::npos, dk_last_error());
    dk_optim_desc od{};
    od.alg = 9;
    CHECK(dk_optimizer_step(DK_BACKEND_NATIVE, &od, buf.data(), 1, nullptr, 0, nullptr, 0, buf.data() + 1, 1) ==
          DK_INVALID_ARGUMENT);
    CHECK(dk_conv2d_forward(DK_BACKEND_NATIVE, nullptr, y.data(), 1, x.data(), 1, w.data(), 1, nullptr, 0) == DK_NULL_POINTER);
}

// The oneDNN eltwise and softmax primitives against the reference, forward and backward.
TEST(train_onednn_eltwise_softmax_match_ref) {
    if (!has_onednn()) return;
    std::mt19937 rng(11);
    const int64_t n = 1000;
    auto x = random_vec(n, rng), dy = random_vec(n, rng);
    for (int alg = DK_ELTWISE_RELU; alg <= DK_ELTWISE_SOFTPLUS; ++alg) {
        dk_eltwise_desc d{alg, n, 0.1f};
        std::vector<float> y0(n), y1(n, NAN), dx0(n), dx1(n, NAN);
        CHECK(dk_eltwise_forward(DK_BACKEND_REF, &d, y0.data(), n, x.data(), n) == DK_OK);
        CHECK(dk_eltwise_forward(DK_BACKEND_ONEDNN, &d, y1.data(), n, x.data(), n) == DK_OK);
        CHECK(dk_eltwise_backward(DK_BACKEND_REF, &d, dx0.data(), n, dy.data(), n, x.data(), n) == DK_OK);
        CHECK(dk_eltwise_backward(DK_BACKEND_ONEDNN, &d, dx1.data(), n, dy.data(), n, x.data(), n) == DK_OK);
        CHECK_MSG(max_rel_diff(y1, y0) < 1e-5f, "eltwise forward alg " + std::to_string(alg));
        CHECK_MSG(max_rel_diff(dx1, dx0) < 1e-5f, "eltwise backward alg " + std::to_string(alg));
    }
    for (int log = 0; log <= 1; ++log) {
        dk_softmax_desc d{40, 25, log};
        std::vector<float> y0(n), y1(n, NAN), dx0(n), dx1(n, NAN);
        CHECK(dk_softmax_forward(DK_BACKEND_REF, &d, y0.data(), n, x.data(), n) == DK_OK);
        CHECK(dk_softmax_forward(DK_BACKEND_ONEDNN, &d, y1.data(), n, x.data(), n) == DK_OK);
        CHECK(dk_softmax_backward(DK_BACKEND_REF, &d, dx0.data(), n, dy.data(), n, y0.data(), n) == DK_OK);
        CHECK(dk_softmax_backward(DK_BACKEND_ONEDNN, &d, dx1.data(), n, dy.data(), n, y0.data(), n) == DK_OK);
        CHECK_MSG(max_rel_diff(y1, y0) < 1e-5f, "softmax forward log=" + std::to_string(log));
        CHECK_MSG(max_rel_diff(dx1, dx0) < 1e-5f, "softmax backward log=" + std::to_string(log));
    }
}

// oneDNN batch normalization against the reference: training forward (output, saved statistics,
// running statistics), inference forward, backward.
TEST(train_onednn_batchnorm_matches_ref) {
    if (!has_onednn()) return;
    std::mt19937 rng(13);
    const int64_t n = 6, c = 5, sp = 7, total = n * c * sp;
    auto x = random_vec(total, rng), dy = random_vec(total, rng), gamma = random_vec(c, rng), beta = random_vec(c, rng);
    for (int training = 1; training >= 0; --training) {
        dk_batchnorm_desc d{n, c, sp, 1e-5f, 0.1f, training};
        std::vector<float> y[2], mean[2], invstd[2], rm[2], rv[2];
        const dk_backend backends[2] = {DK_BACKEND_REF, DK_BACKEND_ONEDNN};
        for (int b = 0; b < 2; ++b) {
            y[b].assign(total, NAN), mean[b].assign(c, NAN), invstd[b].assign(c, NAN);
            rm[b].assign(c, 0.2f), rv[b].assign(c, 1.5f);
            CHECK(dk_batchnorm_forward(backends[b], &d, y[b].data(), total, mean[b].data(), c, invstd[b].data(), c,
                                       rm[b].data(), c, rv[b].data(), c, x.data(), total, gamma.data(), c, beta.data(), c) == DK_OK);
        }
        CHECK_MSG(max_rel_diff(y[1], y[0]) < 1e-5f, "forward, training=" + std::to_string(training));
        CHECK(max_rel_diff(rm[1], rm[0]) < 1e-5f && max_rel_diff(rv[1], rv[0]) < 1e-5f);
        if (!training) continue;
        CHECK(max_rel_diff(mean[1], mean[0]) < 1e-5f && max_rel_diff(invstd[1], invstd[0]) < 1e-5f);
        std::vector<float> dx[2], dg[2], db[2];
        for (int b = 0; b < 2; ++b) {
            dx[b].assign(total, NAN), dg[b].assign(c, NAN), db[b].assign(c, NAN);
            CHECK(dk_batchnorm_backward(backends[b], &d, dx[b].data(), total, dg[b].data(), c, db[b].data(), c, dy.data(), total,
                                        x.data(), total, gamma.data(), c, mean[0].data(), c, invstd[0].data(), c) == DK_OK);
        }
        CHECK_MSG(max_rel_diff(dx[1], dx[0]) < 1e-4f, "backward dx");
        CHECK(max_rel_diff(dg[1], dg[0]) < 1e-4f && max_rel_diff(db[1], db[0]) < 1e-4f);
    }
}

// oneDNN max and average pooling against the reference (distinct values: no ties for the max).
TEST(train_onednn_pool_matches_ref) {
    if (!has_onednn()) return;
    std::mt19937 rng(17);
    struct S { int64_t n, c, h, w, k, s, p; };
    for (const S &sh : {S{2, 3, 8, 8, 2, 2, 0}, S{1, 2, 7, 5, 3, 2, 1}, S{2, 1, 6, 6, 3, 1, 1}})
        for (int alg = DK_POOL_MAX; alg <= DK_POOL_AVG; ++alg) {
            dk_pool2d_desc d{alg, sh.n, sh.c, sh.h, sh.w, sh.k, sh.k, sh.s, sh.s, sh.p, sh.p, sh.p, sh.p, 0};
            const int64_t oh = (sh.h + 2 * sh.p - sh.k) / sh.s + 1, ow = (sh.w + 2 * sh.p - sh.k) / sh.s + 1;
            const int64_t xn = sh.n * sh.c * sh.h * sh.w, yn = sh.n * sh.c * oh * ow;
            std::vector<float> x(xn);
            for (int64_t i = 0; i < xn; ++i) x[i] = static_cast<float>((i * 7919) % xn) * 0.01f;
            auto dy = random_vec(yn, rng);
            std::vector<float> y0(yn), y1(yn, NAN), dx0(xn), dx1(xn, NAN);
            CHECK(dk_pool2d_forward(DK_BACKEND_REF, &d, y0.data(), yn, x.data(), xn) == DK_OK);
            CHECK(dk_pool2d_forward(DK_BACKEND_ONEDNN, &d, y1.data(), yn, x.data(), xn) == DK_OK);
            CHECK(dk_pool2d_backward(DK_BACKEND_REF, &d, dx0.data(), xn, dy.data(), yn, x.data(), xn) == DK_OK);
            CHECK(dk_pool2d_backward(DK_BACKEND_ONEDNN, &d, dx1.data(), xn, dy.data(), yn, x.data(), xn) == DK_OK);
            CHECK_MSG(max_rel_diff(y1, y0) < 1e-5f, "pool forward alg " + std::to_string(alg));
            CHECK_MSG(max_rel_diff(dx1, dx0) < 1e-5f, "pool backward alg " + std::to_string(alg));
        }
}

// The native backend's own CPU kernels for the training ops (native/src/cpu/eltwise, cpu/norm)
// against the double-precision reference: sizes below and above the parallel threshold, tails
// of every vector width, in-place calls, large values, and batch-norm statistics of data far
// from zero (where E[x^2] - E[x]^2 would cancel). ctest also runs them with DK_ISA lowered.
#include "check.h"
#include "cpu/isa_clones.h"
#include "cpu/vec_exp.h"
#include "deepkern.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

// max |a - b| / (atol + |b|): relative where b is large, absolute near zero.
double worst(const std::vector<float> &a, const std::vector<float> &b, double atol = 1.0) {
    double w = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double e = std::fabs(static_cast<double>(a[i]) - b[i]) / (atol + std::fabs(b[i]));
        w = std::isnan(e) ? INFINITY : std::max(w, e);
    }
    return w;
}

} // namespace

namespace {

// Sigmoid, tanh, GELU and softplus and their derivatives in double, in forms that keep relative precision in
// the tails (no 1 - s, no 1 + erf).
double exact_activation(int alg, double x, bool derivative) {
    const double a = std::fabs(x);
    switch (alg) {
    case DK_ELTWISE_SIGMOID: {
        const double e = std::exp(-a);
        return derivative ? e / ((1 + e) * (1 + e)) : x >= 0 ? 1 / (1 + e) : e / (1 + e);
    }
    case DK_ELTWISE_TANH: {
        const double e = std::exp(-2 * a), t = std::tanh(x);
        return derivative ? (a < 0.5 ? 1 - t * t : 4 * e / ((1 + e) * (1 + e))) : t;
    }
    case DK_ELTWISE_SOFTPLUS: {
        const double e = std::exp(-a); // derivative: the sigmoid
        return derivative ? (x >= 0 ? 1 / (1 + e) : e / (1 + e)) : std::max(x, 0.0) + std::log1p(e);
    }
    default: { // GELU
        const double cdf = 0.5 * std::erfc(-x / std::sqrt(2.0));
        return derivative ? cdf + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI) : x * cdf;
    }
    }
}

} // namespace

TEST(train_native_eltwise_matches_ref) {
    std::mt19937 rng(23);
    for (int64_t n : {1, 7, 16, 33, 1000, (1 << 15) + 5, 100003})
        for (float range : {4.0f, 90.0f}) // 90: exp overflows in float unless the kernel avoids it
            for (int alg = DK_ELTWISE_RELU; alg <= DK_ELTWISE_RSQRT; ++alg) {
                dk_eltwise_desc d{alg, n, alg == DK_ELTWISE_RSQRT ? 1e-3f : 0.1f};
                auto x = alg == DK_ELTWISE_RSQRT ? dkt::random_vec(n, rng, 0.0f, range) : dkt::random_vec(n, rng, -range, range);
                auto dy = dkt::random_vec(n, rng);
                const std::string what = "alg " + std::to_string(alg) + " n " + std::to_string(n) + " range " +
                                         std::to_string(range);
                std::vector<float> y0(n), y1(n, NAN);
                CHECK(dk_eltwise_forward(DK_BACKEND_REF, &d, y0.data(), n, x.data(), n) == DK_OK);
                CHECK(dk_eltwise_forward(DK_BACKEND_NATIVE, &d, y1.data(), n, x.data(), n) == DK_OK);
                CHECK_MSG(worst(y1, y0) < 2e-6, "forward " + what);
                std::vector<float> inplace = x;
                CHECK(dk_eltwise_forward(DK_BACKEND_NATIVE, &d, inplace.data(), n, inplace.data(), n) == DK_OK);
                CHECK_MSG(inplace == y1, "in-place forward " + what);
                if (alg == DK_ELTWISE_RSQRT) continue; // no backward
                std::vector<float> dx0(n), dx1(n, NAN);
                CHECK(dk_eltwise_backward(DK_BACKEND_REF, &d, dx0.data(), n, dy.data(), n, x.data(), n) == DK_OK);
                CHECK(dk_eltwise_backward(DK_BACKEND_NATIVE, &d, dx1.data(), n, dy.data(), n, x.data(), n) == DK_OK);
                CHECK_MSG(worst(dx1, dx0) < 2e-6, "backward " + what);
                // The exp-based ones (sigmoid, tanh, GELU, softplus) keep relative precision in their tails too,
                // where the reference's own formulas cancel (1 - s, 1 + erf): against tail-stable
                // double formulas, wherever the exact value is a float above 1e-30 (the kernels flush
                // exp below e^-87 to 0). GELU's lower tail holds to 1.6e-5 (x near -13, where
                // GELU ~ 1e-37): the float z^2 inside exp(-z^2) rounds. GELU's derivative crosses 0 at x = -0.75: absolute there, as above.
                if (alg == DK_ELTWISE_SIGMOID || alg == DK_ELTWISE_TANH || alg == DK_ELTWISE_GELU ||
                    alg == DK_ELTWISE_SOFTPLUS) {
                    const double bound = alg == DK_ELTWISE_GELU ? 3e-5 : 2e-6;
                    double wf = 0, wb = 0;
                    for (int64_t i = 0; i < n; ++i) {
                        const double f = exact_activation(alg, x[i], false), g = exact_activation(alg, x[i], true) * dy[i];
                        if (std::fabs(f) >= 1e-30) wf = std::max(wf, std::fabs(y1[i] - f) / std::fabs(f));
                        if (std::fabs(g) >= 1e-30 && alg != DK_ELTWISE_GELU) wb = std::max(wb, std::fabs(dx1[i] - g) / std::fabs(g));
                    }
                    CHECK_MSG(wf < bound && wb < bound, "relative error " + what + ": forward " + std::to_string(wf) +
                                                            " backward " + std::to_string(wb));
                }
            }
}

TEST(train_native_batchnorm_matches_ref) {
    std::mt19937 rng(29);
    struct S { int64_t n, c, sp; float offset; };
    for (const S &s : {S{2, 1, 1, 0}, S{6, 5, 7, 0}, S{3, 17, 1, 0}, S{2, 3, 33, 0}, S{64, 32, 784, 0},
                       S{8, 4, 100, 1000.0f}, S{1, 3, 4096, -50.0f}})
        for (int training = 1; training >= 0; --training) {
            const int64_t total = s.n * s.c * s.sp;
            const std::string what = "n " + std::to_string(s.n) + " c " + std::to_string(s.c) + " sp " +
                                     std::to_string(s.sp) + " offset " + std::to_string(s.offset) +
                                     " training " + std::to_string(training);
            auto x = dkt::random_vec(total, rng, s.offset - 2, s.offset + 2), dy = dkt::random_vec(total, rng);
            auto gamma = dkt::random_vec(s.c, rng, 0.5f, 2), beta = dkt::random_vec(s.c, rng);
            dk_batchnorm_desc d{s.n, s.c, s.sp, 1e-5f, 0.1f, training};
            std::vector<float> y[2], mean[2], invstd[2], rm[2], rv[2];
            const dk_backend backends[2] = {DK_BACKEND_REF, DK_BACKEND_NATIVE};
            for (int b = 0; b < 2; ++b) {
                y[b].assign(total, NAN), mean[b].assign(s.c, NAN), invstd[b].assign(s.c, NAN);
                rm[b].assign(s.c, s.offset), rv[b].assign(s.c, 1.5f);
                CHECK(dk_batchnorm_forward(backends[b], &d, y[b].data(), total, mean[b].data(), s.c, invstd[b].data(), s.c,
                                           rm[b].data(), s.c, rv[b].data(), s.c, x.data(), total, gamma.data(), s.c,
                                           beta.data(), s.c) == DK_OK);
            }
            CHECK_MSG(worst(y[1], y[0]) < 2e-5, "forward y, " + what);
            CHECK_MSG(worst(rm[1], rm[0]) < 1e-6 && worst(rv[1], rv[0]) < 1e-5, "running statistics, " + what);
            if (!training) continue;
            CHECK_MSG(worst(mean[1], mean[0]) < 1e-6 && worst(invstd[1], invstd[0]) < 1e-5, "saved statistics, " + what);
            std::vector<float> dx[2], dg[2], db[2];
            for (int b = 0; b < 2; ++b) {
                dx[b].assign(total, NAN), dg[b].assign(s.c, NAN), db[b].assign(s.c, NAN);
                CHECK(dk_batchnorm_backward(backends[b], &d, dx[b].data(), total, dg[b].data(), s.c, db[b].data(), s.c,
                                            dy.data(), total, x.data(), total, gamma.data(), s.c, mean[0].data(), s.c,
                                            invstd[0].data(), s.c) == DK_OK);
            }
            // dgamma and dbeta are sums over n * sp values of size ~1: compare relative to that scale
            const double scale = std::sqrt(static_cast<double>(s.n * s.sp));
            CHECK_MSG(worst(dx[1], dx[0]) < 5e-5, "backward dx, " + what);
            CHECK_MSG(worst(dg[1], dg[0], scale) < 1e-5 && worst(db[1], db[0], scale) < 1e-5, "dgamma/dbeta, " + what);
        }
}

// Ten steps of every optimizer configuration on the native kernel and on the reference, from the
// same parameters and gradients: parameters and state stay within float rounding of each other.
TEST(train_native_optimizer_matches_ref) {
    std::mt19937 rng(31);
    struct Cfg { int alg; float lr, momentum; int nesterov; float wd, l1; };
    const Cfg cfgs[] = {{DK_OPTIM_SGD, 0.1f, 0.0f, 0, 0.0f, 0.0f},    {DK_OPTIM_SGD, 0.05f, 0.9f, 1, 5e-4f, 0.0f},
                        {DK_OPTIM_SGD, 0.05f, 0.9f, 0, 0.0f, 1e-3f},  {DK_OPTIM_ADAM, 1e-3f, 0.0f, 0, 0.0f, 0.0f},
                        {DK_OPTIM_ADAM, 1e-2f, 0.0f, 0, 1e-2f, 1e-4f}, {DK_OPTIM_ADAMW, 1e-3f, 0.0f, 0, 1e-2f, 0.0f},
                        {DK_OPTIM_RMSPROP, 1e-3f, 0.0f, 0, 0.0f, 0.0f}, {DK_OPTIM_RMSPROP, 1e-3f, 0.9f, 0, 1e-4f, 0.0f}};
    for (int64_t n : {1, 17, 1000, (1 << 16) + 3})
        for (const Cfg &c : cfgs) {
            const std::string what = "alg " + std::to_string(c.alg) + " momentum " + std::to_string(c.momentum) +
                                     " wd " + std::to_string(c.wd) + " l1 " + std::to_string(c.l1) + " n " + std::to_string(n);
            const auto p0 = dkt::random_vec(n, rng);
            std::vector<float> p[2] = {p0, p0}, s1[2] = {std::vector<float>(n), std::vector<float>(n)},
                               s2[2] = {std::vector<float>(n), std::vector<float>(n)};
            for (int64_t step = 1; step <= 10; ++step) {
                const auto g = dkt::random_vec(n, rng);
                dk_optim_desc d{c.alg, n, c.lr, c.momentum, c.nesterov, 0.9f, 0.999f, 1e-8f, c.wd, c.l1, step};
                if (c.alg == DK_OPTIM_RMSPROP) d.beta2 = 0.99f;
                const dk_backend backends[2] = {DK_BACKEND_REF, DK_BACKEND_NATIVE};
                for (int b = 0; b < 2; ++b)
                    CHECK(dk_optimizer_step(backends[b], &d, p[b].data(), n, s1[b].data(), n, s2[b].data(), n, g.data(), n) ==
                          DK_OK);
            }
            CHECK_MSG(worst(p[1], p[0]) < 1e-6, "parameters, " + what);
            // RMSprop's momentum buffer sums ten steps of g / sqrt(s), up to ~10 each and a few ulps
            // apart (the kernel contracts to FMA, the reference does not): hence 1e-5 for the state.
            CHECK_MSG(worst(s1[1], s1[0]) < 1e-5 && worst(s2[1], s2[0]) < 1e-5,
                      "state, " + what + ": " + std::to_string(worst(s1[1], s1[0])) + " " + std::to_string(worst(s2[1], s2[0])));
        }
}

namespace {

// Offset of multi-index idx under strides.
int64_t offset(const int64_t *idx, const int64_t *strides, int rank) {
    int64_t o = 0;
    for (int i = 0; i < rank; ++i) o += idx[i] * strides[i];
    return o;
}

// Visits every multi-index of shape in row-major order.
template <class F>
void for_each_index(const dk_nd_desc &d, F f) {
    int64_t n = 1, idx[DK_MAX_RANK] = {};
    for (int i = 0; i < d.rank; ++i) n *= d.shape[i];
    for (int64_t t = 0; t < n; ++t) {
        int64_t rem = t;
        for (int i = d.rank - 1; i >= 0; --i) idx[i] = rem % d.shape[i], rem /= d.shape[i];
        f(idx);
    }
}

// Row-major strides of shape, with broadcast (size-1 in `mask`) dimensions given stride 0.
void strides_of(const int64_t *shape, int rank, const bool *broadcast, int64_t *out) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; --i) {
        out[i] = broadcast && broadcast[i] ? 0 : s;
        if (!(broadcast && broadcast[i])) s *= std::max<int64_t>(shape[i], 1); // empty tensors keep valid strides
    }
}

} // namespace

// The strided n-d kernels (binary with broadcasting, copy of a transposed view, sum reduction)
// against element-by-element loops, on layouts that merge into one long row, split across
// threads, broadcast, transpose, and reduce over an empty dimension.
TEST(train_nd_ops_match_elementwise_loops) {
    std::mt19937 rng(37);
    struct S { int rank; int64_t shape[4]; bool bcast_b[4]; };
    const S cases[] = {{4, {8, 16, 28, 28}, {false, false, false, false}},   // residual add: one row
                       {4, {8, 16, 28, 28}, {true, false, true, true}},      // per-channel bias
                       {2, {3, 70000}, {false, false}},                      // rows longer than a piece
                       {3, {5, 1, 7}, {false, false, true}},
                       {1, {1}, {false}},
                       {3, {2, 0, 3}, {false, false, false}},
                       {3, {4, 0, 5}, {false, true, false}}}; // the sum over an empty dimension is 0
    for (const S &c : cases) {
        dk_nd_desc d{};
        d.rank = c.rank;
        int64_t n = 1;
        for (int i = 0; i < c.rank; ++i) d.shape[i] = c.shape[i], n *= c.shape[i];
        strides_of(d.shape, c.rank, nullptr, d.out_strides);
        strides_of(d.shape, c.rank, nullptr, d.a_strides);
        strides_of(d.shape, c.rank, c.bcast_b, d.b_strides);
        int64_t bn = 1;
        for (int i = 0; i < c.rank; ++i) bn *= c.bcast_b[i] ? 1 : d.shape[i];
        const auto a = dkt::random_vec(std::max<int64_t>(n, 1), rng), b = dkt::random_vec(std::max<int64_t>(bn, 1), rng);
        for (int op = DK_BINARY_ADD; op <= DK_BINARY_MUL; ++op) {
            std::vector<float> out(std::max<int64_t>(n, 1), NAN), want(out);
            for_each_index(d, [&](const int64_t *idx) {
                const float x = a[offset(idx, d.a_strides, d.rank)], y = b[offset(idx, d.b_strides, d.rank)];
                want[offset(idx, d.out_strides, d.rank)] = op == DK_BINARY_ADD ? x + y : op == DK_BINARY_SUB ? x - y : x * y;
            });
            CHECK_MSG(dk_binary(DK_BACKEND_NATIVE, static_cast<dk_binary_op>(op), &d, out.data(), n, a.data(), n, b.data(), bn) ==
                          DK_OK, dk_last_error());
            for (int64_t i = 0; i < n; ++i) CHECK_MSG(out[i] == want[i], "binary op " + std::to_string(op) + " at " + std::to_string(i));
        }
        // copy of the transpose of the last two dimensions (a gather)
        if (c.rank >= 2) {
            dk_nd_desc t = d;
            std::swap(t.shape[c.rank - 1], t.shape[c.rank - 2]);
            strides_of(t.shape, c.rank, nullptr, t.out_strides);
            std::swap(t.a_strides[c.rank - 1], t.a_strides[c.rank - 2]);
            std::vector<float> out(std::max<int64_t>(n, 1), NAN), want(out);
            for_each_index(t, [&](const int64_t *idx) { want[offset(idx, t.out_strides, t.rank)] = a[offset(idx, t.a_strides, t.rank)]; });
            CHECK(dk_copy(DK_BACKEND_NATIVE, &t, out.data(), n, a.data(), n) == DK_OK);
            for (int64_t i = 0; i < n; ++i) CHECK_MSG(out[i] == want[i], "transposed copy at " + std::to_string(i));
        }
        // sum over the broadcast dimensions of b: out has b's shape (0.5 * sum + 2 * out)
        dk_nd_desc r = d;
        for (int i = 0; i < c.rank; ++i) r.out_strides[i] = d.b_strides[i];
        std::vector<double> sum(std::max<int64_t>(bn, 1), 0.0);
        for_each_index(r, [&](const int64_t *idx) { sum[offset(idx, r.out_strides, r.rank)] += a[offset(idx, r.a_strides, r.rank)]; });
        std::vector<float> out = b;
        CHECK(dk_reduce_sum(DK_BACKEND_NATIVE, &r, 0.5f, 2.0f, out.data(), bn, a.data(), n) == DK_OK);
        for (int64_t i = 0; i < bn; ++i)
            CHECK_MSG(std::fabs(out[i] - (0.5 * sum[i] + 2.0 * b[i])) < 1e-5 * (1 + std::fabs(sum[i])),
                      "reduce at " + std::to_string(i) + " rank " + std::to_string(c.rank));
    }
}

// vec_expf (cpu/vec_exp.h) compiled for every ISA of this CPU through the same clones the kernels
// use, against the double exp: at most 1.5 ulp (0.99 measured) wherever the result is a normal
// float, 0 below -87, +inf above 88.72, NaN for NaN.
namespace {
DK_CLONE_BODY void exp_all_body(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = dk::vec_expf(x[i]);
}
DK_ISA_VARIANTS(void, exp_all, (float *y, const float *x, int64_t n), (y, x, n))
} // namespace

TEST(vec_expf_accuracy) {
    std::vector<float> xs = {-INFINITY, -1e30f, -88.0f, -87.0001f, -87.0f, -86.99f, -1.0f, -1e-30f, -0.0f, 0.0f,
                             1e-30f, 0.34657359f, -0.34657359f, 1.0f, 88.0f, 88.72f, 88.73f, 1e30f, INFINITY, NAN};
    for (int i = 0; i <= (1 << 20); ++i) xs.push_back(-87.0f + 175.72f * static_cast<float>(i) / (1 << 20));
    const int64_t n = static_cast<int64_t>(xs.size());
    const std::string features = dk_cpu_features();
    struct Clone { const char *name; void (*fn)(float *, const float *, int64_t); bool here; };
    const Clone clones[] = {{"avx512", exp_all_avx512, std::string(dk_cpu_isa()) == "avx512"},
                            {"avx2", exp_all_avx2, features.find("avx2") != std::string::npos &&
                                                       features.find("fma") != std::string::npos},
                            {"generic", exp_all_generic, true}};
    for (const Clone &c : clones) {
        if (!c.here) {
            std::printf("skipped %s: not on this CPU\n", c.name);
            continue;
        }
        std::vector<float> y(n);
        c.fn(y.data(), xs.data(), n);
        double worst_ulp = 0;
        float at = 0;
        for (int64_t i = 0; i < n; ++i) {
            const float x = xs[i];
            if (std::isnan(x)) { CHECK_MSG(std::isnan(y[i]), std::string(c.name) + ": exp(NaN) is not NaN"); continue; }
            if (x < -87.0f) { CHECK_MSG(y[i] == 0.0f, std::string(c.name) + ": exp(" + std::to_string(x) + ") != 0"); continue; }
            const double want = std::exp(static_cast<double>(x));
            if (want > FLT_MAX) { CHECK_MSG(std::isinf(y[i]) && y[i] > 0, std::string(c.name) + ": no overflow to inf"); continue; }
            const double ulp = std::ldexp(1.0, std::ilogb(want) - 23);
            const double e = std::fabs(y[i] - want) / ulp;
            if (!(e <= worst_ulp)) worst_ulp = e, at = x;
        }
        std::printf("%s: vec_expf worst error %.3f ulp at x = %.9g\n", c.name, worst_ulp, at);
        CHECK_MSG(worst_ulp <= 1.5, std::string(c.name) + ": " + std::to_string(worst_ulp) + " ulp at " + std::to_string(at));
    }
}

// Softmax, log-softmax (forward and backward, in place too) and the fused cross-entropy with
// and without label smoothing on the native kernels against the double reference: rows of 1
// and of every tail of the vector widths, rows longer than a summation block, enough rows to
// split between threads, and logits spread over +-1e4 (where a float exp of x - max underflows).
TEST(train_native_softmax_xent_match_ref) {
    std::mt19937 rng(41);
    struct S { int64_t rows, cols; float range; };
    for (const S &s : {S{1, 1, 1}, S{3, 7, 1}, S{64, 10, 8}, S{2, 33, 1}, S{5, 1000, 20}, S{2, 5000, 1e4f},
                       S{257, 100, 30}, S{3, 70001, 5}})
        for (int log = 0; log <= 1; ++log) {
            const int64_t n = s.rows * s.cols;
            const std::string what = std::to_string(s.rows) + "x" + std::to_string(s.cols) + " range " +
                                     std::to_string(s.range) + (log ? " log" : "");
            const auto x = dkt::random_vec(n, rng, -s.range, s.range), dy = dkt::random_vec(n, rng);
            dk_softmax_desc d{s.rows, s.cols, log};
            std::vector<float> y0(n), y1(n, NAN), in_place = x;
            CHECK(dk_softmax_forward(DK_BACKEND_REF, &d, y0.data(), n, x.data(), n) == DK_OK);
            CHECK(dk_softmax_forward(DK_BACKEND_NATIVE, &d, y1.data(), n, x.data(), n) == DK_OK);
            // log-softmax values reach -2e4: relative to their size; probabilities: absolute 1e-6 near 0
            CHECK_MSG(worst(y1, y0, log ? 1.0 : 1e-6) < 4e-6, "forward " + what + ": " + std::to_string(worst(y1, y0, log ? 1.0 : 1e-6)));
            CHECK(dk_softmax_forward(DK_BACKEND_NATIVE, &d, in_place.data(), n, in_place.data(), n) == DK_OK);
            CHECK_MSG(in_place == y1, "in-place forward " + what);
            std::vector<float> dx0(n), dx1(n, NAN);
            CHECK(dk_softmax_backward(DK_BACKEND_REF, &d, dx0.data(), n, dy.data(), n, y0.data(), n) == DK_OK);
            CHECK(dk_softmax_backward(DK_BACKEND_NATIVE, &d, dx1.data(), n, dy.data(), n, y0.data(), n) == DK_OK);
            // dx = y (dy - s) cancels where dy ~ s: compare absolutely at the scale of dy (1); the
            // log-softmax's dx = dy - exp(y) sum(dy) has |sum(dy)| ~ sqrt(cols)
            const double bound = log ? 1e-6 * std::sqrt(static_cast<double>(s.cols)) : 1e-6;
            CHECK_MSG(worst(dx1, dx0) < bound, "backward " + what + ": " + std::to_string(worst(dx1, dx0)));
        }
    for (const S &s : {S{1, 1, 1}, S{64, 10, 8}, S{3, 33, 1e4f}, S{300, 100, 5}, S{2, 50000, 3}})
        for (float smoothing : {0.0f, 0.1f}) {
            const int64_t n = s.rows * s.cols;
            const std::string what = std::to_string(s.rows) + "x" + std::to_string(s.cols) + " smoothing " + std::to_string(smoothing);
            const auto x = dkt::random_vec(n, rng, -s.range, s.range);
            std::vector<float> labels(s.rows);
            for (auto &l : labels) l = static_cast<float>(rng() % s.cols);
            dk_xent_desc d{s.rows, s.cols, smoothing};
            std::vector<float> loss[2] = {{NAN}, {NAN}}, p[2] = {std::vector<float>(n), std::vector<float>(n, NAN)},
                               g[2] = {std::vector<float>(n), std::vector<float>(n, NAN)};
            const dk_backend backends[2] = {DK_BACKEND_REF, DK_BACKEND_NATIVE};
            for (int b = 0; b < 2; ++b) {
                CHECK(dk_softmax_xent_forward(backends[b], &d, loss[b].data(), 1, p[b].data(), n, x.data(), n, labels.data(),
                                              s.rows) == DK_OK);
                CHECK(dk_softmax_xent_backward(backends[b], &d, 0.7f, g[b].data(), n, p[0].data(), n, labels.data(), s.rows) ==
                      DK_OK);
            }
            CHECK_MSG(worst(loss[1], loss[0]) < 1e-6, "loss " + what + ": " + std::to_string(loss[1][0]) + " vs " + std::to_string(loss[0][0]));
            CHECK_MSG(worst(p[1], p[0], 1e-6) < 4e-6, "probs " + what);
            CHECK_MSG(worst(g[1], g[0], 0.7 / s.rows) < 1e-6, "dlogits " + what); // relative to dloss / n
        }
}

// Layer norm forward and backward on the native kernel against the double reference, on rows of
// 1, tails, long rows, data far from zero, and enough rows to split into blocks and threads;
// dgamma/dbeta give the same bits on 1 and 2 threads.
TEST(train_native_layernorm_matches_ref) {
    std::mt19937 rng(43);
    struct S { int64_t rows, cols; float offset; };
    for (const S &s : {S{1, 1, 0}, S{3, 7, 0}, S{2, 33, 0}, S{17, 64, 0}, S{4, 1000, 1000.0f}, S{200, 768, 0},
                       S{2, 5000, -50.0f}, S{0, 8, 0}, S{3, 0, 0}}) {
        const int64_t n = s.rows * s.cols;
        const std::string what = std::to_string(s.rows) + "x" + std::to_string(s.cols) + " offset " + std::to_string(s.offset);
        const auto x = dkt::random_vec(n, rng, s.offset - 2, s.offset + 2), dy = dkt::random_vec(n, rng);
        const auto gamma = dkt::random_vec(s.cols, rng, 0.5f, 2), beta = dkt::random_vec(s.cols, rng);
        dk_layernorm_desc d{s.rows, s.cols, 1e-5f};
        std::vector<float> y[2], mean[2], invstd[2], dx[2], dg[2], db[2];
        const dk_backend backends[2] = {DK_BACKEND_REF, DK_BACKEND_NATIVE};
        for (int b = 0; b < 2; ++b) {
            y[b].assign(n, NAN), mean[b].assign(s.rows, NAN), invstd[b].assign(s.rows, NAN);
            dx[b].assign(n, NAN), dg[b].assign(s.cols, NAN), db[b].assign(s.cols, NAN);
            CHECK(dk_layernorm_forward(backends[b], &d, y[b].data(), n, mean[b].data(), s.rows, invstd[b].data(), s.rows,
                                       x.data(), n, gamma.data(), s.cols, beta.data(), s.cols) == DK_OK);
            CHECK(dk_layernorm_backward(backends[b], &d, dx[b].data(), n, dg[b].data(), s.cols, db[b].data(), s.cols,
                                        dy.data(), n, x.data(), n, gamma.data(), s.cols, mean[0].data(), s.rows,
                                        invstd[0].data(), s.rows) == DK_OK);
        }
        const double scale = std::sqrt(static_cast<double>(std::max<int64_t>(s.rows, 1)));
        CHECK_MSG(worst(y[1], y[0]) < 2e-5, "forward y, " + what + ": " + std::to_string(worst(y[1], y[0])));
        CHECK_MSG(worst(mean[1], mean[0]) < 1e-6 && worst(invstd[1], invstd[0]) < 1e-5, "saved statistics, " + what);
        CHECK_MSG(worst(dx[1], dx[0]) < 5e-5, "backward dx, " + what + ": " + std::to_string(worst(dx[1], dx[0])));
        CHECK_MSG(worst(dg[1], dg[0], scale) < 1e-5 && worst(db[1], db[0], scale) < 1e-5, "dgamma/dbeta, " + what);
        // the same bits on one thread as on two
        std::vector<float> dg1(s.cols, NAN), db1(s.cols, NAN), dx1(n, NAN);
        const int32_t threads = dk_get_num_threads();
        CHECK(dk_set_num_threads(1) == DK_OK);
        CHECK(dk_layernorm_backward(DK_BACKEND_NATIVE, &d, dx1.data(), n, dg1.data(), s.cols, db1.data(), s.cols, dy.data(), n,
                                    x.data(), n, gamma.data(), s.cols, mean[0].data(), s.rows, invstd[0].data(), s.rows) == DK_OK);
        CHECK(dk_set_num_threads(threads) == DK_OK);
        CHECK_MSG(dg1 == dg[1] && db1 == db[1] && dx1 == dx[1], "thread count changes the bits, " + what);
    }
}

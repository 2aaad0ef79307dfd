// dk_matmul_batched on every CPU backend against a double-precision computation here: strided
// batches (with gaps between the items), a shared A or B (stride 0), every transpose, alpha/beta
// with beta = 0 over a NaN-filled C, bias or none, and each activation (also after several k
// blocks: k = 900); then its bad input.
#include "check.h"
#include "deepkern.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

double act(int a, double v) {
    if (a == DK_ACTIVATION_RELU) return v > 0 ? v : 0;
    if (a == DK_ACTIVATION_GELU) return 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    return v;
}

struct Item {
    int64_t batch, m, n, k;
    bool ta, tb;
    bool shared_a, shared_b, bias;
    int activation;
    float alpha, beta;
};

void check_one(dk_backend be, const Item &x, std::mt19937 &rng) {
    dk_matmul_batched_desc d{};
    dk_matmul_desc &mm = d.mm;
    mm.m = x.m, mm.n = x.n, mm.k = x.k, mm.trans_a = x.ta, mm.trans_b = x.tb, mm.alpha = x.alpha, mm.beta = x.beta;
    const int64_t a_rows = x.ta ? x.k : x.m, a_cols = x.ta ? x.m : x.k, b_rows = x.tb ? x.n : x.k, b_cols = x.tb ? x.k : x.n;
    mm.lda = a_cols + 1, mm.ldb = b_cols + 2, mm.ldc = x.n + 3;
    d.batch = x.batch, d.activation = x.activation;
    d.stride_a = x.shared_a ? 0 : a_rows * mm.lda + 5; // gaps between the items
    d.stride_b = x.shared_b ? 0 : b_rows * mm.ldb + 7;
    d.stride_c = x.m * mm.ldc + 11;
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    auto rnd = [&](size_t n) {
        std::vector<float> v(n);
        for (float &f : v) f = dist(rng);
        return v;
    };
    std::vector<float> a = rnd((x.batch - 1) * d.stride_a + a_rows * mm.lda), b = rnd((x.batch - 1) * d.stride_b + b_rows * mm.ldb);
    std::vector<float> c = rnd((x.batch - 1) * d.stride_c + x.m * mm.ldc), bias = rnd(x.n);
    if (x.beta == 0.0f) std::fill(c.begin(), c.end(), NAN);
    const std::vector<float> c0 = c;
    const dk_status st = dk_matmul_batched(be, &d, c.data(), c.size(), a.data(), a.size(), b.data(), b.size(),
                                           x.bias ? bias.data() : nullptr, x.bias ? x.n : 0);
    char what[240];
    std::snprintf(what, sizeof what,
                  "backend %d batch=%lld m=%lld n=%lld k=%lld ta=%d tb=%d shared_a=%d shared_b=%d bias=%d act=%d alpha=%g beta=%g",
                  be, (long long)x.batch, (long long)x.m, (long long)x.n, (long long)x.k, x.ta, x.tb, x.shared_a,
                  x.shared_b, x.bias, x.activation, x.alpha, x.beta);
    if (!CHECK_MSG(st == DK_OK, std::string(what) + ": " + dk_last_error())) return;
    int bad = 0;
    std::vector<bool> written(c.size(), false);
    for (int64_t t = 0; t < x.batch; ++t)
        for (int64_t i = 0; i < x.m; ++i)
            for (int64_t j = 0; j < x.n; ++j) {
                double acc = 0, mag = 0;
                for (int64_t p = 0; p < x.k; ++p) {
                    const double u = a[t * d.stride_a + (x.ta ? p * mm.lda + i : i * mm.lda + p)];
                    const double v = b[t * d.stride_b + (x.tb ? j * mm.ldb + p : p * mm.ldb + j)];
                    acc += u * v, mag += std::fabs(u * v);
                }
                const int64_t ci = t * d.stride_c + i * mm.ldc + j;
                written[ci] = true;
                double pre = x.alpha * acc + (x.bias ? bias[j] : 0.0);
                if (x.beta != 0.0f) pre += static_cast<double>(x.beta) * c0[ci];
                const double tol = 1e-5 + 2e-6 * std::sqrt(x.k + 1.0) * (std::fabs(x.alpha) * mag + 2);
                if (!(std::fabs(c[ci] - act(x.activation, pre)) <= tol)) ++bad;
            }
    for (size_t i = 0; i < c.size(); ++i) // gaps and padding untouched
        if (!written[i] && !(std::isnan(c0[i]) ? std::isnan(c[i]) : c[i] == c0[i])) ++bad;
    CHECK_MSG(bad == 0, std::string(what) + ": " + std::to_string(bad) + " wrong");
}

void check_backend(dk_backend be) {
    if (dk_backend_check(be) != DK_OK) {
        std::printf("skipped: %s\n", dk_last_error());
        return;
    }
    std::mt19937 rng(99);
    const int64_t shapes[][4] = {{1, 1, 1, 1}, {3, 7, 5, 3}, {4, 17, 33, 31}, {2, 64, 64, 64}, {5, 13, 40, 100},
                                 {2, 100, 70, 130}, {1, 1, 300, 200}, {6, 33, 1, 9}, {2, 40, 70, 900}};
    int i = 0;
    for (const auto &s : shapes)
        for (int t = 0; t < 4; ++t)
            for (int actv : {DK_ACTIVATION_NONE, DK_ACTIVATION_RELU, DK_ACTIVATION_GELU}) {
                ++i;
                const float ab[][2] = {{1, 0}, {-0.5f, 1}, {2, 0.25f}, {1, 0.5f}};
                Item x{s[0], s[1], s[2], s[3], (t & 1) != 0, (t & 2) != 0, i % 5 == 0, i % 3 == 0, i % 2 == 0,
                       actv, ab[i % 4][0], ab[i % 4][1]};
                check_one(be, x, rng);
            }
}

} // namespace

TEST(matmul_batched_ref) { check_backend(DK_BACKEND_REF); }
TEST(matmul_batched_native) { check_backend(DK_BACKEND_NATIVE); }
TEST(matmul_batched_onednn) { check_backend(DK_BACKEND_ONEDNN); }

TEST(matmul_batched_bad_input) {
    for (dk_backend be : {DK_BACKEND_NATIVE, DK_BACKEND_ONEDNN, DK_BACKEND_REF}) {
        if (dk_backend_check(be) != DK_OK) continue;
        std::vector<float> a(16, 1.0f), b(24, 1.0f), c(12, 0.0f), bias(3, 1.0f);
        auto good = [] {
            dk_matmul_batched_desc d{};
            d.mm = dk_matmul_desc{2, 3, 4, 0, 0, 4, 3, 3, 1.0f, 0.0f};
            d.batch = 2, d.stride_a = 8, d.stride_b = 12, d.stride_c = 6, d.activation = DK_ACTIVATION_RELU;
            return d;
        };
        auto run = [&](const dk_matmul_batched_desc &d, int64_t bias_len = 3) {
            return dk_matmul_batched(be, &d, c.data(), c.size(), a.data(), a.size(), b.data(), b.size(), bias.data(), bias_len);
        };
        auto mentions = [](const char *w) { return std::strstr(dk_last_error(), w) != nullptr; };
        dk_matmul_batched_desc d = good();
        CHECK_MSG(run(d) == DK_OK && c[0] == 5.0f && c[11] == 5.0f, dk_last_error());
        std::fill(c.begin(), c.end(), 0.0f);
        d = good(), d.stride_c = 5;
        CHECK(run(d) == DK_INVALID_ARGUMENT && mentions("stride_c (5) must be >= 6"));
        d = good(), d.batch = -1;
        CHECK(run(d) == DK_INVALID_ARGUMENT && mentions("batch must be >= 0"));
        d = good(), d.stride_a = -8;
        CHECK(run(d) == DK_INVALID_ARGUMENT && mentions("stride_a"));
        d = good(), d.activation = 3;
        CHECK(run(d) == DK_INVALID_ARGUMENT && mentions("activation"));
        d = good();
        CHECK(run(d, 2) == DK_INVALID_ARGUMENT && mentions("bias needs n = 3"));
        d = good(), d.batch = 3; // c needs 2 * 6 + 6 = 18 floats
        CHECK(run(d) == DK_INVALID_ARGUMENT && mentions("c needs 18 floats"));
        d = good(), d.stride_a = 9; // a needs 9 + 8 = 17 floats
        CHECK(run(d) == DK_INVALID_ARGUMENT && mentions("a needs 17 floats"));
        d = good(), d.batch = int64_t(1) << 62;
        CHECK(run(d) == DK_INVALID_ARGUMENT && mentions("overflow"));
        d = good();
        CHECK(dk_matmul_batched(be, &d, a.data() + 4, 12, a.data(), 16, b.data(), 24, nullptr, 0) == DK_INVALID_ARGUMENT &&
              mentions("overlap"));
        CHECK(dk_matmul_batched(be, nullptr, c.data(), 12, a.data(), 16, b.data(), 24, nullptr, 0) == DK_NULL_POINTER);
        CHECK(std::all_of(c.begin(), c.end(), [](float v) { return v == 0.0f; }));
        d = good(), d.mm.k = 0; // C = relu(beta C + bias) without reading A or B
        CHECK(dk_matmul_batched(be, &d, c.data(), 12, nullptr, 0, nullptr, 0, bias.data(), 3) == DK_OK && c[0] == 1.0f &&
              c[11] == 1.0f);
    }
}

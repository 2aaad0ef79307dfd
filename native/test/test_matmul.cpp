// Every matmul implementation of every CPU backend against an independent double-precision
// product, over the shape list, every transpose, alpha/beta (including beta = 0 over a NaN-filled
// C) and padded leading dimensions.
#include "check.h"
#include "deepkern.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

namespace {

struct Shape {
    int64_t m, n, k;
};

std::vector<Shape> load_shapes() {
    std::ifstream in(DK_TEST_SHAPES "/matmul.txt");
    CHECK_MSG(in.good(), "cannot open " DK_TEST_SHAPES "/matmul.txt");
    std::vector<Shape> shapes;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream s(line);
        Shape sh;
        if (s >> sh.m >> sh.n >> sh.k) shapes.push_back(sh);
    }
    return shapes;
}

using dkt::random_vec;

// Runs one configuration on `backend` and compares with a double-precision product.
void check_one(dk_backend backend, const Shape &s, bool ta, bool tb, float alpha, float beta, int64_t pad,
               std::mt19937 &rng) {
    dk_matmul_desc d{};
    d.m = s.m, d.n = s.n, d.k = s.k, d.trans_a = ta, d.trans_b = tb, d.alpha = alpha, d.beta = beta;
    const int64_t a_rows = ta ? s.k : s.m, a_cols = ta ? s.m : s.k;
    const int64_t b_rows = tb ? s.n : s.k, b_cols = tb ? s.k : s.n;
    d.lda = a_cols + pad, d.ldb = b_cols + pad, d.ldc = s.n + pad;
    std::vector<float> a = random_vec(a_rows * d.lda, rng), b = random_vec(b_rows * d.ldb, rng);
    std::vector<float> c = random_vec(s.m * d.ldc, rng);
    if (beta == 0.0f) std::fill(c.begin(), c.end(), NAN);
    const std::vector<float> c0 = c;

    const dk_status st = dk_matmul(backend, &d, c.data(), c.size(), a.data(), a.size(), b.data(), b.size());
    if (!CHECK_MSG(st == DK_OK, dk_last_error())) return;

    int bad = 0;
    for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = 0; j < d.ldc; ++j) {
            const float got = c[i * d.ldc + j];
            if (j >= s.n) { // padding must be untouched
                if (!(std::isnan(c0[i * d.ldc + j]) ? std::isnan(got) : got == c0[i * d.ldc + j])) ++bad;
                continue;
            }
            double acc = 0, mag = 0;
            for (int64_t p = 0; p < s.k; ++p) {
                const double x = a[ta ? p * d.lda + i : i * d.lda + p], y = b[tb ? j * d.ldb + p : p * d.ldb + j];
                acc += x * y;
                mag += std::fabs(x * y);
            }
            double want = alpha * acc;
            if (beta != 0.0f) want += static_cast<double>(beta) * c0[i * d.ldc + j];
            // fp32 accumulation error grows with k and the magnitude of the terms
            const double tol = 1e-5 + 2e-6 * std::sqrt(static_cast<double>(s.k) + 1) * (std::fabs(alpha) * mag + 1);
            if (!(std::fabs(got - want) <= tol)) ++bad;
        }
    char what[200];
    std::snprintf(what, sizeof what, "backend %d m=%lld n=%lld k=%lld ta=%d tb=%d alpha=%g beta=%g pad=%lld: %d wrong",
                  backend, (long long)s.m, (long long)s.n, (long long)s.k, ta, tb, alpha, beta, (long long)pad, bad);
    CHECK_MSG(bad == 0, what);
}

void check_backend(dk_backend backend) {
    std::mt19937 rng(1234);
    const float alpha_beta[][2] = {{1.0f, 0.0f}, {-0.5f, 1.0f}, {2.0f, 0.25f}, {0.0f, 0.5f}};
    for (const Shape &s : load_shapes())
        for (int t = 0; t < 4; ++t)
            for (const auto &ab : alpha_beta)
                for (int64_t pad : {0, 3}) check_one(backend, s, t & 1, t & 2, ab[0], ab[1], pad, rng);
}

} // namespace

TEST(matmul_ref) { check_backend(DK_BACKEND_REF); }
TEST(matmul_native) { check_backend(DK_BACKEND_NATIVE); }
TEST(matmul_onednn) {
    if (dk_backend_check(DK_BACKEND_ONEDNN) != DK_OK) {
        std::printf("skipped: %s\n", dk_last_error());
        return;
    }
    check_backend(DK_BACKEND_ONEDNN);
}

TEST(matmul_k0_and_empty) {
    // k = 0: C = beta * C; m = 0 or n = 0: nothing is touched (null pointers allowed).
    for (dk_backend be : {DK_BACKEND_REF, DK_BACKEND_NATIVE, DK_BACKEND_ONEDNN}) {
        if (dk_backend_check(be) != DK_OK) continue;
        dk_matmul_desc d{3, 2, 0, 0, 0, 1, 2, 2, 1.0f, 0.5f};
        std::vector<float> c = {1, 2, 3, 4, 5, 6};
        CHECK_MSG(dk_matmul(be, &d, c.data(), 6, nullptr, 0, nullptr, 0) == DK_OK, dk_last_error());
        CHECK(c[0] == 0.5f && c[5] == 3.0f);
        d.beta = 0.0f;
        std::fill(c.begin(), c.end(), NAN);
        CHECK(dk_matmul(be, &d, c.data(), 6, nullptr, 0, nullptr, 0) == DK_OK);
        CHECK(c[0] == 0.0f && c[5] == 0.0f);
        dk_matmul_desc e{0, 5, 4, 0, 0, 4, 5, 5, 1.0f, 0.0f};
        CHECK(dk_matmul(be, &e, nullptr, 0, nullptr, 0, nullptr, 0) == DK_OK);
    }
}

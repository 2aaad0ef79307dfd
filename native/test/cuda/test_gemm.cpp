// dkc_gemm in FP32, TF32 and BF16 against a double-precision product on ragged shapes (no
// multiple of any tile), every transpose, alpha/beta (beta = 0 over a NaN-filled C), padded
// leading dimensions (the padding must stay untouched), bias and every activation.
// Tolerance: atol + u * sum_k |a_ik b_kj|, with u the input rounding of the math mode.
#include "cuda_test.h"

#include <cmath>

namespace {

using dkct::Dev;

double act_ref(int act, double x) {
    switch (act) {
    case DKC_ACT_RELU: return x > 0 ? x : 0;
    case DKC_ACT_GELU: return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    case DKC_ACT_SIGMOID: return 1 / (1 + std::exp(-x));
    case DKC_ACT_TANH: return std::tanh(x);
    default: return x;
    }
}

void run(dkc_math math, int64_t m, int64_t n, int64_t k, bool ta, bool tb, float alpha, float beta, int64_t pad,
         bool with_bias, dkc_act act, std::mt19937 &rng) {
    dk_matmul_desc d{};
    d.m = m, d.n = n, d.k = k, d.trans_a = ta, d.trans_b = tb, d.alpha = alpha, d.beta = beta;
    const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
    d.lda = a_cols + pad, d.ldb = b_cols + pad, d.ldc = n + pad;
    const auto a = dkct::random_vec(a_rows * d.lda, rng), b = dkct::random_vec(b_rows * d.ldb, rng);
    auto c = dkct::random_vec(m * d.ldc, rng);
    const float sentinel = 12345.0f;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < d.ldc; ++j)
            if (j >= n) c[i * d.ldc + j] = sentinel;
            else if (beta == 0.0f) c[i * d.ldc + j] = NAN;
    const auto bias = dkct::random_vec(n, rng);
    Dev<float> da(a), db(b), dc(c), dbias(bias);
    if (!DKC_OK(dkc_gemm(&d, math, act, dc.p, da.p, db.p, with_bias ? dbias.p : nullptr, nullptr))) return;
    const auto got = dc.get();

    std::vector<float> got_c;
    std::vector<double> want, scale;
    bool padding_ok = true;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < d.ldc; ++j) {
            if (j >= n) {
                padding_ok &= got[i * d.ldc + j] == sentinel;
                continue;
            }
            double s = 0, mag = 0;
            for (int64_t p = 0; p < k; ++p) {
                const double x = a[ta ? p * d.lda + i : i * d.lda + p], y = b[tb ? j * d.ldb + p : p * d.ldb + j];
                s += x * y;
                mag += std::fabs(x * y);
            }
            double v = alpha * s + (beta != 0.0f ? beta * double(c[i * d.ldc + j]) : 0.0) +
                       (with_bias ? double(bias[j]) : 0.0);
            // The activations have slopes <= 1.13 (GELU): the pre-activation bound carries over.
            want.push_back(act_ref(act, v));
            scale.push_back(std::fabs(alpha) * mag + std::fabs(v));
            got_c.push_back(got[i * d.ldc + j]);
        }
    const double u = math == DKC_MATH_FP32 ? 2e-6 : math == DKC_MATH_TF32 ? 2.5e-3 : 2e-2;
    char what[160];
    std::snprintf(what, sizeof what, "gemm math=%d %lldx%lldx%lld ta=%d tb=%d alpha=%g beta=%g pad=%lld bias=%d act=%d",
                  math, (long long)m, (long long)n, (long long)k, ta, tb, alpha, beta, (long long)pad, with_bias, act);
    dkct::close(got_c, want, 1e-5, 1.2 * u, what, &scale);
    CHECK_MSG(padding_ok, std::string(what) + ": wrote into the padding of C");
}

void sweep(dkc_math math) {
    std::mt19937 rng(7 + math);
    const int64_t shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 19}, {65, 70, 45}, {130, 67, 33}};
    for (const auto &s : shapes)
        for (int t = 0; t < 4; ++t) run(math, s[0], s[1], s[2], t & 1, t & 2, 1.0f, 0.0f, 0, false, DKC_ACT_NONE, rng);
    run(math, 37, 29, 50, false, true, 0.5f, -1.5f, 3, true, DKC_ACT_NONE, rng);
    run(math, 9, 70, 0, false, false, 1.0f, 0.5f, 1, true, DKC_ACT_RELU, rng); // k = 0: act(beta C + bias)
    for (int act = DKC_ACT_RELU; act <= DKC_ACT_TANH; ++act)
        run(math, 21, 45, 24, true, false, 1.0f, 0.0f, 1, true, static_cast<dkc_act>(act), rng);
}

} // namespace

TEST(cuda_gemm_fp32) { sweep(DKC_MATH_FP32); }
TEST(cuda_gemm_tf32) { sweep(DKC_MATH_TF32); }
TEST(cuda_gemm_bf16) { sweep(DKC_MATH_BF16); }

// The 128 x 128 tensor-core configuration (chosen for m, n >= 256) on a ragged shape.
TEST(cuda_gemm_mma_large_tiles) {
    std::mt19937 rng(11);
    run(DKC_MATH_TF32, 260, 270, 40, false, false, 1.0f, 0.0f, 0, true, DKC_ACT_RELU, rng);
    run(DKC_MATH_BF16, 257, 300, 24, true, true, 1.0f, 1.0f, 2, false, DKC_ACT_NONE, rng);
}

TEST(cuda_gemm_bad_input) {
    dk_matmul_desc d{4, 4, 4, 0, 0, 4, 4, 4, 1.0f, 0.0f};
    float *p = reinterpret_cast<float *>(16); // never dereferenced: validation fails first
    dk_matmul_desc bad = d;
    bad.lda = 3;
    dkct::expect_error(dkc_gemm(&bad, DKC_MATH_FP32, DKC_ACT_NONE, p, p, p, nullptr, nullptr), DK_INVALID_ARGUMENT,
                       "lda", "lda < k");
    bad = d, bad.m = 0;
    dkct::expect_error(dkc_gemm(&bad, DKC_MATH_FP32, DKC_ACT_NONE, p, p, p, nullptr, nullptr), DK_INVALID_ARGUMENT,
                       "m, n", "m = 0");
    dkct::expect_error(dkc_gemm(&d, 7, DKC_ACT_NONE, p, p, p, nullptr, nullptr),
                       DK_INVALID_ARGUMENT, "math", "math = 7");
    dkct::expect_error(dkc_gemm(&d, DKC_MATH_TF32, -1, p, p, p, nullptr, nullptr),
                       DK_INVALID_ARGUMENT, "act", "act = -1");
    dkct::expect_error(dkc_gemm(&d, DKC_MATH_FP32, DKC_ACT_NONE, p, nullptr, p, nullptr, nullptr), DK_NULL_POINTER,
                       "a", "a = NULL");
}

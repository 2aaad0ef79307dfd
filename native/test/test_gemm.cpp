// The native GEMM (native/src/cpu/gemm) against a double-precision product computed here: every
// size from 1 to 33 in each dimension (all microkernel tails), products spanning several cache
// blocks in every dimension, every transpose, alpha/beta with beta = 0 over a NaN-filled C, padded
// leading dimensions, 1, 2 and 3 threads, and B packed once (dk_sgemm_pack_b). ctest runs each
// case once per ISA (DK_ISA=avx2|generic lower the dispatch).
#include "check.h"
#include "deepkern.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Case {
    int64_t m, n, k;
    bool ta, tb;
    float alpha, beta;
    int64_t pad; // added to every leading dimension
};

std::string describe(const Case &c) {
    char s[160];
    std::snprintf(s, sizeof s, "m=%lld n=%lld k=%lld ta=%d tb=%d alpha=%g beta=%g pad=%lld", (long long)c.m,
                  (long long)c.n, (long long)c.k, c.ta, c.tb, c.alpha, c.beta, (long long)c.pad);
    return s;
}

struct Operands {
    dk_matmul_desc d{};
    std::vector<float> a, b, c, c0;
    std::vector<float> bias; // empty: none (the fused epilogue's bias, n floats)
    int32_t act = DK_ACTIVATION_NONE;
};

Operands make(const Case &x, std::mt19937 &rng) {
    Operands o;
    dk_matmul_desc &d = o.d;
    d.m = x.m, d.n = x.n, d.k = x.k, d.trans_a = x.ta, d.trans_b = x.tb, d.alpha = x.alpha, d.beta = x.beta;
    const int64_t a_rows = x.ta ? x.k : x.m, a_cols = x.ta ? x.m : x.k;
    const int64_t b_rows = x.tb ? x.n : x.k, b_cols = x.tb ? x.k : x.n;
    d.lda = a_cols + x.pad, d.ldb = b_cols + x.pad, d.ldc = x.n + x.pad;
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    auto fill = [&](std::vector<float> &v, size_t n) {
        v.resize(n);
        for (float &f : v) f = dist(rng);
    };
    // Buffers exactly as long as the shapes need: a kernel reading past them trips ASan, and
    // reading or writing the padding is caught below.
    fill(o.a, (a_rows - 1) * d.lda + a_cols);
    fill(o.b, (b_rows - 1) * d.ldb + b_cols);
    fill(o.c, (x.m - 1) * d.ldc + x.n);
    if (x.beta == 0.0f) std::fill(o.c.begin(), o.c.end(), NAN);
    o.c0 = o.c;
    return o;
}

// Compares o.c with alpha * op(A) op(B) + beta * C0 in double; the padding of C must be untouched.
bool verify(const Case &x, const Operands &o, const char *what) {
    const dk_matmul_desc &d = o.d;
    int bad = 0;
    double worst = 0;
    for (int64_t i = 0; i < x.m; ++i)
        for (int64_t j = 0; j < d.ldc && i * d.ldc + j < static_cast<int64_t>(o.c.size()); ++j) {
            const float got = o.c[i * d.ldc + j], before = o.c0[i * d.ldc + j];
            if (j >= x.n) {
                if (!(std::isnan(before) ? std::isnan(got) : got == before)) ++bad;
                continue;
            }
            double acc = 0, mag = 0;
            for (int64_t p = 0; p < x.k; ++p) {
                const double u = o.a[x.ta ? p * d.lda + i : i * d.lda + p];
                const double v = o.b[x.tb ? j * d.ldb + p : p * d.ldb + j];
                acc += u * v;
                mag += std::fabs(u * v);
            }
            double want = x.alpha * acc;
            if (x.beta != 0.0f) want += static_cast<double>(x.beta) * before;
            if (!o.bias.empty()) want += o.bias[j];
            if (o.act == DK_ACTIVATION_RELU) want = std::fmax(want, 0.0);
            if (o.act == DK_ACTIVATION_GELU)
                want = 0.5 * want * (1 + std::tanh(std::sqrt(2 / M_PI) * (want + 0.044715 * want * want * want)));
            const double tol = 1e-5 + 2e-6 * std::sqrt(static_cast<double>(x.k) + 1) * (std::fabs(x.alpha) * mag + 1);
            const double err = std::fabs(got - want);
            if (!(err <= tol)) ++bad, worst = std::isnan(err) ? INFINITY : std::fmax(worst, err / tol);
        }
    return CHECK_MSG(bad == 0, std::string(what) + " " + describe(x) + ": " + std::to_string(bad) +
                                   " elements wrong (worst " + std::to_string(worst) + " x tolerance)");
}

bool run_matmul(const Case &x, std::mt19937 &rng) {
    Operands o = make(x, rng);
    const dk_status st = dk_matmul(DK_BACKEND_NATIVE, &o.d, o.c.data(), o.c.size(), o.a.data(), o.a.size(),
                                   o.b.data(), o.b.size());
    if (!CHECK_MSG(st == DK_OK, dk_last_error())) return false;
    return verify(x, o, "dk_matmul");
}

bool run_packed(const Case &x, std::mt19937 &rng) {
    Operands o = make(x, rng);
    dk_packed_matrix *pb = nullptr;
    if (!CHECK_MSG(dk_sgemm_pack_b(&pb, x.k, x.n, x.tb, o.b.data(), o.d.ldb, o.b.size()) == DK_OK, dk_last_error()))
        return false;
    // Packing copied B: scribbling over it must not change the product.
    const std::vector<float> b = o.b;
    std::fill(o.b.begin(), o.b.end(), NAN);
    o.d.ldb = -1, o.d.trans_b = 7; // not used with a packed B
    const dk_status st = dk_matmul_packed_b(&o.d, o.c.data(), o.c.size(), o.a.data(), o.a.size(), pb);
    dk_packed_matrix_free(pb);
    o.b = b;
    o.d.ldb = x.tb ? x.k + x.pad : x.n + x.pad;
    if (!CHECK_MSG(st == DK_OK, dk_last_error())) return false;
    return verify(x, o, "dk_matmul_packed_b");
}

// B packed once for `backend`, then the product with a fused epilogue: a bias (on most cases) and
// each activation in turn.
bool run_packed_fused_on(dk_backend backend, const Case &x, std::mt19937 &rng) {
    Operands o = make(x, rng);
    static int32_t next_act = 0;
    o.act = next_act++ % 3;
    // oneDNN's packed path takes alpha != 1 only without a bias (deepkern.h)
    if (next_act % 4 != 0 && (backend == DK_BACKEND_NATIVE || x.alpha == 1.0f)) {
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        o.bias.resize(x.n);
        for (float &f : o.bias) f = dist(rng);
    }
    dk_packed_matrix *pb = nullptr;
    if (!CHECK_MSG(dk_matmul_pack_b(backend, &pb, x.m, x.k, x.n, x.tb, o.b.data(), o.d.ldb, o.b.size()) == DK_OK,
                   dk_last_error()))
        return false;
    const dk_status st = dk_matmul_packed_b_fused(&o.d, o.c.data(), o.c.size(), o.a.data(), o.a.size(), pb,
                                                  o.bias.empty() ? nullptr : o.bias.data(), o.bias.size(), o.act);
    dk_packed_matrix_free(pb);
    if (!CHECK_MSG(st == DK_OK, dk_last_error())) return false;
    return verify(x, o, backend == DK_BACKEND_NATIVE ? "dk_matmul_packed_b_fused" : "dk_matmul_packed_b_fused (onednn)");
}

bool run_packed_fused(const Case &x, std::mt19937 &rng) { return run_packed_fused_on(DK_BACKEND_NATIVE, x, rng); }
bool run_packed_onednn(const Case &x, std::mt19937 &rng) { return run_packed_fused_on(DK_BACKEND_ONEDNN, x, rng); }

// alpha/beta pairs: overwrite (beta = 0 over NaN), accumulate, and general scaling.
const float kAlphaBeta[][2] = {{1.0f, 0.0f}, {-0.5f, 1.0f}, {2.0f, 0.25f}};

struct Threads {
    int saved = dk_get_num_threads();
    explicit Threads(int n) { dk_set_num_threads(n); }
    ~Threads() { dk_set_num_threads(saved); }
};

// Every size 1..33 in one dimension, against a few values of the other two that straddle the
// microkernels' tiles (MR = 4, 6, 12; NR = 16, 32), with every transpose.
void sweep_tails(bool (*run)(const Case &, std::mt19937 &)) {
    std::mt19937 rng(42);
    const int64_t others[] = {1, 13, 33};
    int failures = 0;
    for (int dim = 0; dim < 3; ++dim)
        for (int64_t s = 1; s <= 33; ++s)
            for (int64_t u : others)
                for (int64_t v : others)
                    for (int t = 0; t < 4; ++t) {
                        const auto &ab = kAlphaBeta[(s + t) % 3];
                        Case c{s, u, v, (t & 1) != 0, (t & 2) != 0, ab[0], ab[1], (s + u) % 3 == 0 ? 5 : 0};
                        if (dim == 1) c.m = u, c.n = s, c.k = v;
                        if (dim == 2) c.m = u, c.n = v, c.k = s;
                        if (!run(c, rng) && ++failures > 20) return;
                    }
}

// Products that cross every cache block (KC = 256/384, NC = 256/384, MC = 1024/1536) with tails
// in each, on 1, 2 and 3 threads (3 on a 2-core machine: more threads than work units in places).
void sweep_blocks(bool (*run)(const Case &, std::mt19937 &)) {
    std::mt19937 rng(7);
    const Case shapes[] = {
        {1601, 45, 21, false, false, 1, 0, 0},     // m over MC, narrow n (threads split rows)
        {37, 1187, 797, false, false, 1, 0, 0},    // n over 3 NC blocks, k over 2 KC blocks
        {1031, 389, 401, false, false, 1, 0, 0},   // every dimension just over a block
        {257, 263, 1201, false, false, 1, 0, 0},   // k over 3 KC blocks: beta applied once
        {1, 2053, 409, false, false, 1, 0, 0},     // one row (small-m path)
        {29, 1000, 1000, false, false, 1, 0, 0},   // small m, large n and k
        {40, 497, 700, false, false, 1, 0, 0},     // small m, n <= 512: B packed inside the multiply
        {300, 256, 300, false, false, 1, 0, 0},    // n <= 512: A in place (or packed), whole B panels only
        {97, 480, 1024, false, false, 1, 0, 0},    // lda = 1024 floats (4 KiB): A packed, B packed in the multiply
    };
    for (int threads : {1, 2, 3}) {
        Threads scoped(threads);
        int i = 0;
        for (Case c : shapes)
            for (int t = 0; t < 4; ++t, ++i) {
                c.ta = t & 1, c.tb = t & 2;
                c.alpha = kAlphaBeta[(i + threads) % 3][0], c.beta = kAlphaBeta[(i + threads) % 3][1];
                c.pad = i % 2 ? 3 : 0;
                run(c, rng);
            }
    }
}

} // namespace

TEST(gemm_tails) { sweep_tails(run_matmul); }
TEST(gemm_blocks) { sweep_blocks(run_matmul); }
TEST(gemm_packed_b_tails) { sweep_tails(run_packed); }
TEST(gemm_packed_b_blocks) { sweep_blocks(run_packed); }
TEST(gemm_packed_b_fused_tails) { sweep_tails(run_packed_fused); }
TEST(gemm_packed_b_fused_blocks) { sweep_blocks(run_packed_fused); }

// oneDNN's pre-packed weights (the benchmarks' baseline) through the same entry points; where the
// onednn backend is not built, packing for it must say so.
TEST(gemm_packed_b_onednn) {
    if (dk_backend_check(DK_BACKEND_ONEDNN) != DK_OK) {
        float b[4] = {1, 2, 3, 4};
        dk_packed_matrix *pb = nullptr;
        CHECK(dk_matmul_pack_b(DK_BACKEND_ONEDNN, &pb, 1, 2, 2, 0, b, 2, 4) == DK_UNAVAILABLE && pb == nullptr);
        return;
    }
    sweep_tails(run_packed_onednn);
    sweep_blocks(run_packed_onednn);
}

TEST(gemm_packed_b_bad_input) {
    std::vector<float> b(12, 1.0f), a(8, 1.0f), c(6, 0.0f);
    dk_packed_matrix *pb = reinterpret_cast<dk_packed_matrix *>(&b); // must be reset to null on failure
    auto mentions = [](const char *w) { return std::strstr(dk_last_error(), w) != nullptr; };
    CHECK(dk_sgemm_pack_b(nullptr, 4, 3, 0, b.data(), 3, 12) == DK_NULL_POINTER && mentions("out"));
    CHECK(dk_sgemm_pack_b(&pb, -1, 3, 0, b.data(), 3, 12) == DK_INVALID_ARGUMENT && mentions("k must be") && !pb);
    CHECK(dk_sgemm_pack_b(&pb, 4, 3, 2, b.data(), 3, 12) == DK_INVALID_ARGUMENT && mentions("trans_b"));
    CHECK(dk_sgemm_pack_b(&pb, 4, 3, 0, b.data(), 2, 12) == DK_INVALID_ARGUMENT && mentions("ldb"));
    CHECK(dk_sgemm_pack_b(&pb, 4, 3, 0, b.data(), 3, 11) == DK_INVALID_ARGUMENT && mentions("b needs 12 floats"));
    CHECK(dk_sgemm_pack_b(&pb, 4, 3, 0, nullptr, 3, 0) == DK_NULL_POINTER && mentions("b must not be null"));
    CHECK(dk_sgemm_pack_b(&pb, 4, 3, 0, b.data(), 3, 12) == DK_OK && pb);

    dk_matmul_desc d{2, 3, 4, 0, 0, 4, 0, 3, 1.0f, 0.0f};
    CHECK(dk_matmul_packed_b(&d, c.data(), 6, a.data(), 8, nullptr) == DK_NULL_POINTER && mentions("packed"));
    CHECK(dk_matmul_packed_b(nullptr, c.data(), 6, a.data(), 8, pb) == DK_NULL_POINTER && mentions("desc"));
    d.k = 5, d.lda = 5;
    CHECK(dk_matmul_packed_b(&d, c.data(), 6, a.data(), 10, pb) == DK_INVALID_ARGUMENT && mentions("packed b's k"));
    d = dk_matmul_desc{2, 2, 4, 0, 0, 4, 0, 2, 1.0f, 0.0f};
    CHECK(dk_matmul_packed_b(&d, c.data(), 6, a.data(), 8, pb) == DK_INVALID_ARGUMENT && mentions("packed b's n"));
    d = dk_matmul_desc{2, 3, 4, 0, 0, 4, 0, 3, 1.0f, 0.0f};
    CHECK(dk_matmul_packed_b(&d, c.data(), 5, a.data(), 8, pb) == DK_INVALID_ARGUMENT && mentions("c needs 6"));
    CHECK(dk_matmul_packed_b(&d, c.data(), 6, a.data(), 7, pb) == DK_INVALID_ARGUMENT && mentions("a needs 8"));
    d.lda = 3;
    CHECK(dk_matmul_packed_b(&d, c.data(), 6, a.data(), 8, pb) == DK_INVALID_ARGUMENT && mentions("lda"));
    d.lda = 4;
    CHECK(dk_matmul_packed_b(&d, a.data() + 2, 6, a.data(), 8, pb) == DK_INVALID_ARGUMENT && mentions("overlap"));
    // the fused epilogue's arguments, and packing for a backend
    std::vector<float> bias(3, 1.0f);
    CHECK(dk_matmul_packed_b_fused(&d, c.data(), 6, a.data(), 8, pb, bias.data(), 3, 3) == DK_INVALID_ARGUMENT &&
          mentions("activation"));
    CHECK(dk_matmul_packed_b_fused(&d, c.data(), 6, a.data(), 8, pb, bias.data(), 2, 0) == DK_INVALID_ARGUMENT &&
          mentions("bias needs n = 3"));
    CHECK(dk_matmul_packed_b_fused(&d, c.data(), 6, a.data(), 8, pb, c.data() + 1, 3, 0) == DK_INVALID_ARGUMENT &&
          mentions("overlap bias"));
    dk_packed_matrix *other = reinterpret_cast<dk_packed_matrix *>(&b);
    CHECK(dk_matmul_pack_b(DK_BACKEND_NATIVE, &other, 0, 4, 3, 0, b.data(), 3, 12) == DK_INVALID_ARGUMENT &&
          mentions("m must be") && !other);
    CHECK(dk_matmul_pack_b(DK_BACKEND_REF, &other, 2, 4, 3, 0, b.data(), 3, 12) == DK_UNSUPPORTED && !other);
    CHECK(dk_matmul_pack_b(static_cast<dk_backend>(99), &other, 2, 4, 3, 0, b.data(), 3, 12) == DK_INVALID_ARGUMENT);
    CHECK(std::all_of(c.begin(), c.end(), [](float v) { return v == 0.0f; })); // nothing written on failure
    // alpha = 0 with the epilogue: C = act(beta * C + bias), A and B not read
    d.alpha = 0.0f;
    bias = {-5.0f, 1.0f, 2.0f};
    CHECK(dk_matmul_packed_b_fused(&d, c.data(), 6, a.data(), 8, pb, bias.data(), 3, DK_ACTIVATION_RELU) == DK_OK &&
          c[0] == 0.0f && c[1] == 1.0f && c[5] == 2.0f);
    std::fill(c.begin(), c.end(), 0.0f);
    d.alpha = 1.0f;
    int64_t k = 0, n = 0;
    CHECK(dk_packed_matrix_shape(pb, &k, &n) == DK_OK && k == 4 && n == 3);
    CHECK(dk_matmul_packed_b(&d, c.data(), 6, a.data(), 8, pb) == DK_OK && c[0] == 4.0f && c[5] == 4.0f);
    d.k = 4, d.alpha = 0.0f, d.beta = 0.0f; // alpha = 0: C = beta * C without reading A or B
    std::fill(c.begin(), c.end(), NAN);
    CHECK(dk_matmul_packed_b(&d, c.data(), 6, a.data(), 8, pb) == DK_OK && c[0] == 0.0f && c[5] == 0.0f);
    dk_packed_matrix_free(pb);
    dk_packed_matrix_free(nullptr); // ignored

    // An empty packed matrix (k = 0) multiplies as k = 0: C = beta * C.
    CHECK(dk_sgemm_pack_b(&pb, 0, 3, 0, nullptr, 3, 0) == DK_OK && pb);
    d = dk_matmul_desc{2, 3, 0, 0, 0, 1, 0, 3, 1.0f, 0.5f};
    std::fill(c.begin(), c.end(), 2.0f);
    CHECK(dk_matmul_packed_b(&d, c.data(), 6, nullptr, 0, pb) == DK_OK && c[0] == 1.0f && c[5] == 1.0f);
    dk_packed_matrix_free(pb);
}

TEST(gemm_reports_its_microkernel) {
    dk_matmul_desc d{64, 64, 64, 0, 0, 64, 64, 64, 1.0f, 0.0f};
    const std::string name = dk_matmul_impl_name(DK_BACKEND_NATIVE, &d), isa = dk_cpu_isa();
    std::printf("native matmul on %s: %s\n", isa.c_str(), name.c_str());
    CHECK_MSG(name.rfind("sgemm_" + isa + "_", 0) == 0, name + " should be the " + isa + " microkernel");
}

// Attention: every implementation against the double-accumulating reference (forward: out, lse;
// backward: dq, dk, dv) over sequence lengths 1, 7, 63, 64, 65 and 1000, head_dim 16, 64, 80
// and 128, without and with each mask, grouped-query attention, dropout, and logits scaled by
// 1e4; the Philox stream against its published known answer; bad input; workspace accounting.
#include "check.h"
#include "deepkern.h"
#include "../src/core/philox.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct Case {
    int64_t batch, q_heads, kv_heads, q_seq, kv_seq, head_dim;
    bool causal, key_lens;
    float dropout = 0.0f, logit_scale = 1.0f;
};

std::string describe(dk_backend be, const Case &c) {
    char s[200];
    std::snprintf(s, sizeof s, "backend %d B=%lld H=%lld/%lld S=%lld/%lld D=%lld causal=%d key_lens=%d dropout=%g scale x%g",
                  be, (long long)c.batch, (long long)c.q_heads, (long long)c.kv_heads, (long long)c.q_seq,
                  (long long)c.kv_seq, (long long)c.head_dim, c.causal, c.key_lens, c.dropout, c.logit_scale);
    return s;
}

struct Tensors {
    dk_attention_desc d{};
    std::vector<float> q, k, v, dout;
    std::vector<int32_t> key_lens;
    const int32_t *lens() const { return key_lens.empty() ? nullptr : key_lens.data(); }
};

Tensors make(const Case &c, std::mt19937 &rng) {
    Tensors t;
    t.d = {c.batch, c.q_heads, c.kv_heads, c.q_seq, c.kv_seq, c.head_dim,
           c.logit_scale / std::sqrt(static_cast<float>(c.head_dim)), c.causal, c.dropout, 0x5eed1234abcdull};
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    auto fill = [&](std::vector<float> &x, int64_t n) {
        x.resize(n);
        for (float &e : x) e = u(rng);
    };
    fill(t.q, c.batch * c.q_heads * c.q_seq * c.head_dim);
    fill(t.dout, c.batch * c.q_heads * c.q_seq * c.head_dim);
    fill(t.k, c.batch * c.kv_heads * c.kv_seq * c.head_dim);
    fill(t.v, c.batch * c.kv_heads * c.kv_seq * c.head_dim);
    if (c.key_lens)
        for (int64_t b = 0; b < c.batch; ++b) // 1, the full length, and lengths in between
            t.key_lens.push_back(static_cast<int32_t>(b == 0 ? std::max<int64_t>(1, c.kv_seq / 2)
                                                              : b == 1 ? c.kv_seq : 1 + (rng() % c.kv_seq)));
    return t;
}

struct Results {
    std::vector<float> out, lse, dq, dk, dv;
};

bool run(dk_backend be, const Tensors &t, Results &r) {
    r.out.assign(t.q.size(), NAN), r.lse.assign(t.q.size() / t.d.head_dim, NAN);
    r.dq.assign(t.q.size(), NAN), r.dk.assign(t.k.size(), NAN), r.dv.assign(t.v.size(), NAN);
    const int64_t nl = t.key_lens.size();
    if (!CHECK_MSG(dk_attention_forward(be, &t.d, r.out.data(), r.out.size(), r.lse.data(), r.lse.size(), t.q.data(),
                                        t.q.size(), t.k.data(), t.k.size(), t.v.data(), t.v.size(), t.lens(),
                                        nl) == DK_OK,
                   dk_last_error()))
        return false;
    return CHECK_MSG(dk_attention_backward(be, &t.d, r.dq.data(), r.dq.size(), r.dk.data(), r.dk.size(), r.dv.data(),
                                           r.dv.size(), t.dout.data(), t.dout.size(), t.q.data(), t.q.size(),
                                           t.k.data(), t.k.size(), t.v.data(), t.v.size(), r.out.data(),
                                           r.out.size(), r.lse.data(), r.lse.size(), t.lens(), nl) == DK_OK,
                     dk_last_error());
}

// max |got - want| / max(1, max |want|): the error relative to the tensor's magnitude.
double error(const std::vector<float> &got, const std::vector<float> &want) {
    double err = 0, mag = 1;
    for (size_t i = 0; i < want.size(); ++i) {
        mag = std::max(mag, static_cast<double>(std::fabs(want[i])));
        const double e = std::fabs(static_cast<double>(got[i]) - want[i]);
        err = std::isfinite(got[i]) ? std::max(err, e) : INFINITY;
    }
    return err / mag;
}

// tol bounds the forward's error (out, lse), grad_tol the backward's (dq, dk, dv).
void compare(dk_backend be, const Case &c, std::mt19937 &rng, double tol = 2e-4, double grad_tol = 2e-4) {
    const Tensors t = make(c, rng);
    Results want, got;
    if (!run(DK_BACKEND_REF, t, want) || !run(be, t, got)) return;
    const struct {
        const char *name;
        const std::vector<float> &g, &w;
    } parts[] = {{"out", got.out, want.out}, {"lse", got.lse, want.lse}, {"dq", got.dq, want.dq},
                 {"dk", got.dk, want.dk},    {"dv", got.dv, want.dv}};
    for (const auto &p : parts) {
        const double e = error(p.g, p.w);
        CHECK_MSG(e <= (p.name[0] == 'd' ? grad_tol : tol), describe(be, c) + ": " + p.name + " error " + std::to_string(e));
    }
}

const int64_t seqs[] = {1, 7, 63, 64, 65};
const int64_t dims[] = {16, 64, 80, 128};

void sweep(dk_backend be) {
    if (dk_backend_check(be) != DK_OK) {
        std::printf("skipped: %s\n", dk_last_error());
        return;
    }
    std::mt19937 rng(42);
    for (int64_t s : seqs)
        for (int64_t dim : dims)
            for (int mask = 0; mask < 4; ++mask) compare(be, {2, 2, 2, s, s, dim, bool(mask & 1), bool(mask & 2)}, rng);
    // Different query and key lengths, grouped-query attention (4 q heads on 2 and on 1 k/v heads),
    // dropout (alone and with both masks), and a long head.
    compare(be, {2, 4, 2, 65, 130, 64, true, true}, rng);
    compare(be, {1, 4, 1, 130, 65, 80, true, false}, rng);
    compare(be, {2, 4, 2, 100, 100, 64, false, false, 0.3f}, rng);
    compare(be, {2, 2, 1, 77, 90, 16, true, true, 0.5f}, rng);
    compare(be, {1, 2, 2, 50, 50, 256, true, false}, rng);
    compare(be, {1, 2, 2, 33, 40, 24, false, true}, rng); // head_dim not a multiple of 16
}

} // namespace

TEST(attention_philox) {
    // Random123's known answer for Philox4x32-10, counter 0, key 0: first word 0x6627e8d5.
    CHECK(dk_philox4x32_10_first(0, 0) == 0x6627e8d5u);
    // dropout 0.25 keeps about 3/4 of the elements
    const uint32_t th = dk_dropout_threshold(0.25f);
    int kept = 0;
    for (int64_t j = 0; j < 100000; ++j) kept += dk_dropout_keep(7, th, 3, 100000, j);
    CHECK_MSG(std::abs(kept - 75000) < 600, std::to_string(kept));
}

TEST(attention_ref_small) {
    // The reference itself on a case small enough to check by hand: one query, two keys.
    dk_attention_desc d{1, 1, 1, 1, 2, 1, 1.0f, 0, 0.0f, 0};
    const float q[] = {1}, k[] = {0, std::log(3.0f)}, v[] = {4, 8};
    float out[1], lse[1];
    CHECK(dk_attention_forward(DK_BACKEND_REF, &d, out, 1, lse, 1, q, 1, k, 2, v, 2, nullptr, 0) == DK_OK);
    CHECK_MSG(std::fabs(out[0] - 7.0f) < 1e-5f, std::to_string(out[0])); // p = (1/4, 3/4)
    CHECK_MSG(std::fabs(lse[0] - std::log(4.0f)) < 1e-6f, std::to_string(lse[0]));
    const int32_t one[] = {1}; // the key-padding mask leaves only key 0
    CHECK(dk_attention_forward(DK_BACKEND_REF, &d, out, 1, lse, 1, q, 1, k, 2, v, 2, one, 1) == DK_OK);
    CHECK(out[0] == 4.0f && lse[0] == 0.0f);
}

TEST(attention_native) { sweep(DK_BACKEND_NATIVE); }
TEST(attention_onednn) { sweep(DK_BACKEND_ONEDNN); }

TEST(attention_native_lengths_1000) {
    std::mt19937 rng(7);
    compare(DK_BACKEND_NATIVE, {1, 2, 1, 1000, 1000, 64, false, false}, rng);
    compare(DK_BACKEND_NATIVE, {2, 2, 2, 1000, 1000, 128, true, true}, rng);
    if (dk_backend_check(DK_BACKEND_ONEDNN) == DK_OK) compare(DK_BACKEND_ONEDNN, {1, 2, 1, 1000, 1000, 80, true, false}, rng);
}

TEST(attention_native_backward_any_thread_count) {
    // The backward splits each (batch, kv head) into key chunks run by different threads, which
    // add their parts of dq in chunk order: one k/v head (so threads share it), several chunks,
    // every mask and grouped-query attention give the same bits on 1, 2 and 3 threads, and match
    // the reference.
    const int32_t saved = dk_get_num_threads();
    std::mt19937 rng(11);
    const Case cases[] = {{1, 1, 1, 700, 700, 64, false, false}, {1, 1, 1, 700, 700, 64, true, true},
                          {1, 3, 1, 129, 520, 80, true, false},  {3, 2, 1, 200, 300, 16, false, true, 0.2f},
                          {1, 1, 1, 128, 128, 64, true, false}};
    for (const Case &c : cases) {
        const Tensors t = make(c, rng);
        Results want, one;
        CHECK(dk_set_num_threads(1) == DK_OK);
        if (!run(DK_BACKEND_REF, t, want) || !run(DK_BACKEND_NATIVE, t, one)) break;
        for (const auto &[name, g, w] : {std::tie("dq", one.dq, want.dq), std::tie("dk", one.dk, want.dk),
                                         std::tie("dv", one.dv, want.dv)})
            CHECK_MSG(error(g, w) <= 2e-4, describe(DK_BACKEND_NATIVE, c) + ": " + name + " error " + std::to_string(error(g, w)));
        for (int32_t threads : {2, 3}) {
            CHECK(dk_set_num_threads(threads) == DK_OK);
            for (int rep = 0; rep < 3; ++rep) {
                Results r;
                if (!run(DK_BACKEND_NATIVE, t, r)) break;
                const bool same = r.dq == one.dq && r.dk == one.dk && r.dv == one.dv && r.out == one.out;
                CHECK_MSG(same, describe(DK_BACKEND_NATIVE, c) + ": " + std::to_string(threads) +
                                    " threads give other bits than 1");
            }
        }
    }
    dk_set_num_threads(saved);
}

TEST(attention_large_logits) {
    // Logits of size ~1e4: a softmax without max subtraction would overflow to inf/NaN. The
    // forward stays as accurate as usual; the gradients carry scale = 1e4 / 8 times the fp32
    // rounding of p near 0 and 1 (oneDNN's unfused version shows the same ~2e-3), so they get 1e-2.
    std::mt19937 rng(3);
    for (dk_backend be : {DK_BACKEND_NATIVE, DK_BACKEND_ONEDNN}) {
        if (dk_backend_check(be) != DK_OK) continue;
        for (int mask = 0; mask < 4; ++mask) {
            Case c{1, 2, 2, 65, 65, 64, bool(mask & 1), bool(mask & 2)};
            c.logit_scale = 1e4f;
            compare(be, c, rng, 2e-4, 1e-2);
        }
    }
}

TEST(attention_workspace) {
    // The fused kernel's workspace does not grow with the sequence; the unfused one holds S.
    std::mt19937 rng(5);
    for (int64_t s : {256, 1024}) {
        const Tensors t = make({1, 4, 4, s, s, 64, false, false}, rng);
        std::vector<float> out(t.q.size());
        for (dk_backend be : {DK_BACKEND_NATIVE, DK_BACKEND_ONEDNN}) {
            if (dk_backend_check(be) != DK_OK) continue;
            dk_release_workspace_cache();
            CHECK(dk_workspace_bytes() == 0);
            dk_reset_workspace_peak();
            CHECK(dk_attention_forward(be, &t.d, out.data(), out.size(), nullptr, 0, t.q.data(), t.q.size(),
                                       t.k.data(), t.k.size(), t.v.data(), t.v.size(), nullptr, 0) == DK_OK);
            const int64_t peak = dk_workspace_peak_bytes();
            // native releases everything; onednn keeps its score buffer for the next call
            CHECK_MSG(be == DK_BACKEND_NATIVE ? dk_workspace_bytes() == 0 : dk_workspace_bytes() >= 4 * s * s * 4,
                      std::to_string(dk_workspace_bytes()));
            dk_release_workspace_cache();
            CHECK(dk_workspace_bytes() == 0);
            if (be == DK_BACKEND_NATIVE)
                CHECK_MSG(peak > 0 && peak <= dk_get_num_threads() * 64 * 1024, std::to_string(peak));
            else
                CHECK_MSG(peak >= 4 * s * s * 4, std::to_string(peak));
        }
    }
}

TEST(attention_bad_input) {
    std::mt19937 rng(9);
    const Tensors t0 = make({2, 4, 2, 5, 6, 8, false, false}, rng);
    for (dk_backend be : {DK_BACKEND_NATIVE, DK_BACKEND_ONEDNN, DK_BACKEND_REF}) {
        if (dk_backend_check(be) != DK_OK) continue;
        auto expect = [&](dk_status want, const char *word, auto &&mutate) {
            Tensors t = t0;
            std::vector<float> out(t.q.size(), 7.0f), lse(t.q.size() / 8, 7.0f);
            float *outp = out.data();
            int64_t out_len = out.size(), q_len = t.q.size();
            const float *qp = t.q.data();
            std::vector<int32_t> lens = {3, 6};
            const int32_t *lp = nullptr;
            int64_t lens_len = 0;
            mutate(t.d, outp, out_len, qp, q_len, lens, lp, lens_len);
            const dk_status st = dk_attention_forward(be, &t.d, outp, out_len, lse.data(), lse.size(), qp, q_len,
                                                      t.k.data(), t.k.size(), t.v.data(), t.v.size(), lp, lens_len);
            CHECK_MSG(st == want, std::string("status ") + std::to_string(st) + ": " + dk_last_error());
            CHECK_MSG(std::strstr(dk_last_error(), word), std::string("'") + dk_last_error() + "' should name " + word);
            CHECK(std::all_of(out.begin(), out.end(), [](float x) { return x == 7.0f; }));
        };
        using D = dk_attention_desc;
        using L = std::vector<int32_t>;
        expect(DK_INVALID_ARGUMENT, "q_seq must be >= 1", [](D &d, float *&, int64_t &, const float *&, int64_t &, L &, const int32_t *&, int64_t &) { d.q_seq = 0; });
        expect(DK_INVALID_ARGUMENT, "kv_heads (3) must divide q_heads (4)", [](D &d, float *&, int64_t &, const float *&, int64_t &, L &, const int32_t *&, int64_t &) { d.kv_heads = 3; });
        expect(DK_INVALID_ARGUMENT, "head_dim must be <= 256", [](D &d, float *&, int64_t &, const float *&, int64_t &, L &, const int32_t *&, int64_t &) { d.head_dim = 257; });
        expect(DK_INVALID_ARGUMENT, "dropout must be in [0, 1)", [](D &d, float *&, int64_t &, const float *&, int64_t &, L &, const int32_t *&, int64_t &) { d.dropout = 1.0f; });
        expect(DK_INVALID_ARGUMENT, "causal must be 0 or 1", [](D &d, float *&, int64_t &, const float *&, int64_t &, L &, const int32_t *&, int64_t &) { d.causal = 2; });
        expect(DK_INVALID_ARGUMENT, "scale must be finite", [](D &d, float *&, int64_t &, const float *&, int64_t &, L &, const int32_t *&, int64_t &) { d.scale = NAN; });
        expect(DK_INVALID_ARGUMENT, "overflows", [](D &d, float *&, int64_t &, const float *&, int64_t &, L &, const int32_t *&, int64_t &) { d.batch = int64_t(1) << 62; });
        expect(DK_NULL_POINTER, "q must not be null", [](D &, float *&, int64_t &, const float *&q, int64_t &, L &, const int32_t *&, int64_t &) { q = nullptr; });
        expect(DK_INVALID_ARGUMENT, "out needs 320 elements", [](D &, float *&, int64_t &n, const float *&, int64_t &, L &, const int32_t *&, int64_t &) { n = 319; });
        expect(DK_INVALID_ARGUMENT, "q needs 320", [](D &, float *&, int64_t &, const float *&, int64_t &n, L &, const int32_t *&, int64_t &) { n = 100; });
        expect(DK_INVALID_ARGUMENT, "out must not overlap q", [](D &, float *&o, int64_t &, const float *&q, int64_t &, L &, const int32_t *&, int64_t &) { q = o; });
        expect(DK_INVALID_ARGUMENT, "key_lens[1] must be in [1, kv_seq = 6], got 7", [](D &, float *&, int64_t &, const float *&, int64_t &, L &l, const int32_t *&p, int64_t &n) { l[1] = 7, p = l.data(), n = 2; });
        expect(DK_INVALID_ARGUMENT, "key_lens[0] must be in [1, kv_seq = 6], got 0", [](D &, float *&, int64_t &, const float *&, int64_t &, L &l, const int32_t *&p, int64_t &n) { l[0] = 0, p = l.data(), n = 2; });
        expect(DK_INVALID_ARGUMENT, "key_lens needs 2 elements", [](D &, float *&, int64_t &, const float *&, int64_t &, L &l, const int32_t *&p, int64_t &n) { p = l.data(), n = 1; });
        expect(DK_NULL_POINTER, "key_lens is null", [](D &, float *&, int64_t &, const float *&, int64_t &, L &, const int32_t *&, int64_t &n) { n = 2; });
        // backward: lse is required; dk must not overlap dv
        std::vector<float> g(t0.q.size()), gk(t0.k.size()), o(t0.q.size()), lse(t0.q.size() / 8);
        CHECK(dk_attention_backward(be, &t0.d, g.data(), g.size(), gk.data(), gk.size(), gk.data(), gk.size(),
                                    t0.dout.data(), t0.dout.size(), t0.q.data(), t0.q.size(), t0.k.data(), t0.k.size(),
                                    t0.v.data(), t0.v.size(), o.data(), o.size(), lse.data(), lse.size(), nullptr,
                                    0) == DK_INVALID_ARGUMENT);
        CHECK_MSG(std::strstr(dk_last_error(), "dk must not overlap dv"), dk_last_error());
        CHECK(dk_attention_backward(be, &t0.d, g.data(), g.size(), gk.data(), gk.size(), gk.data(), gk.size(),
                                    t0.dout.data(), t0.dout.size(), t0.q.data(), t0.q.size(), t0.k.data(), t0.k.size(),
                                    t0.v.data(), t0.v.size(), o.data(), o.size(), nullptr, 0, nullptr,
                                    0) == DK_NULL_POINTER);
        CHECK_MSG(std::strstr(dk_last_error(), "lse must not be null"), dk_last_error());
    }
    CHECK(dk_attention_impl_name(DK_BACKEND_NATIVE, nullptr) == nullptr);
    const dk_attention_desc ok{1, 1, 1, 4, 4, 16, 0.25f, 0, 0.0f, 0};
    CHECK(std::string(dk_attention_impl_name(DK_BACKEND_NATIVE, &ok)) == "cpu_flash");
    CHECK(std::string(dk_attention_impl_name(DK_BACKEND_REF, &ok)) == "ref");
    CHECK(dk_attention_impl_name(DK_BACKEND_CUDA, &ok) == nullptr);
}

// Flash attention forward (o, lse) and backward (dq, dk, dv) against the unfused attention in
// double precision (scores, softmax, the analytic gradients), with and without the causal mask,
// seq_q != seq_k, head dims that are not multiples of 32, and sequences that are not multiples
// of any tile; grouped-query heads, per-batch key lengths and the top-left causal alignment of
// deepkern.h.
#include "cuda_test.h"

namespace {
using dkct::Dev;

// kv_heads 0: heads. lens: key_lens per batch (empty: none).
void run(int64_t batch, int64_t heads, int64_t sq, int64_t sk, int d, bool causal, std::mt19937 &rng,
         int64_t kv_heads = 0, bool top_left = false, const std::vector<int32_t> &lens = {}) {
    Dev<int32_t> dlens(lens.empty() ? 1 : lens.size());
    if (!lens.empty()) dlens.put(lens);
    const dkc_attention_desc desc{batch,   heads,    sq, sk, d, causal ? 1 : 0, 1.0f / std::sqrt(float(d)),
                                  kv_heads, top_left, lens.empty() ? nullptr : dlens.p};
    const int64_t bh = batch * heads, kvh = batch * (kv_heads ? kv_heads : heads), group = bh / kvh;
    const auto q = dkct::random_vec(bh * sq * d, rng, -2.0f, 2.0f), k = dkct::random_vec(kvh * sk * d, rng, -2.0f, 2.0f);
    const auto v = dkct::random_vec(kvh * sk * d, rng), dout = dkct::random_vec(bh * sq * d, rng);
    Dev<float> dq_(q), dk_(k), dv_(v), ddo(dout), o(bh * sq * d), lse(bh * sq), gq(q.size()), gk(k.size()),
        gv(v.size());
    if (!DKC_OK(dkc_attention_forward(&desc, o.p, lse.p, dq_.p, dk_.p, dv_.p, nullptr))) return;
    if (!DKC_OK(dkc_attention_backward(&desc, gq.p, gk.p, gv.p, ddo.p, dq_.p, dk_.p, dv_.p, o.p, lse.p, nullptr)))
        return;
    std::vector<double> wo(o.n), wl(lse.n), wq(q.size(), 0), wk(k.size(), 0), wv(v.size(), 0);
    std::vector<double> mo(o.n, 0), mq(q.size(), 0), mk(k.size(), 0), mv(v.size(), 0);
    const double scale = desc.scale;
    const int64_t offset = top_left ? 0 : sk - sq;
    for (int64_t b = 0; b < bh; ++b) {
        const int64_t kb = b / group, keys = lens.empty() ? sk : lens[b / heads];
        const float *Q = &q[b * sq * d], *K = &k[kb * sk * d], *V = &v[kb * sk * d], *dO = &dout[b * sq * d];
        for (int64_t i = 0; i < sq; ++i) {
            std::vector<double> p(sk, 0.0);
            double m = -INFINITY;
            for (int64_t j = 0; j < sk; ++j) {
                if ((causal && j > i + offset) || j >= keys) {
                    p[j] = -INFINITY;
                    continue;
                }
                double s = 0;
                for (int c = 0; c < d; ++c) s += double(Q[i * d + c]) * K[j * d + c];
                p[j] = s * scale;
                m = std::max(m, p[j]);
            }
            double l = 0;
            for (int64_t j = 0; j < sk; ++j) p[j] = p[j] == -INFINITY ? 0 : std::exp(p[j] - m), l += p[j];
            wl[b * sq + i] = l > 0 ? m + std::log(l) : -INFINITY;
            std::vector<double> oi(d, 0), dp(sk, 0);
            for (int64_t j = 0; j < sk; ++j) {
                p[j] = l > 0 ? p[j] / l : 0;
                for (int c = 0; c < d; ++c) oi[c] += p[j] * V[j * d + c], mo[(b * sq + i) * d + c] += p[j] * std::fabs(V[j * d + c]);
            }
            double D = 0;
            for (int c = 0; c < d; ++c) wo[(b * sq + i) * d + c] = oi[c], D += dO[i * d + c] * oi[c];
            for (int64_t j = 0; j < sk; ++j) {
                if (p[j] == 0) continue;
                for (int c = 0; c < d; ++c) dp[j] += double(dO[i * d + c]) * V[j * d + c];
                const double ds = p[j] * (dp[j] - D);
                for (int c = 0; c < d; ++c) {
                    wv[(kb * sk + j) * d + c] += p[j] * dO[i * d + c];
                    mv[(kb * sk + j) * d + c] += p[j] * std::fabs(dO[i * d + c]);
                    wq[(b * sq + i) * d + c] += scale * ds * K[j * d + c];
                    mq[(b * sq + i) * d + c] += scale * p[j] * (std::fabs(dp[j]) + std::fabs(D)) * std::fabs(K[j * d + c]);
                    wk[(kb * sk + j) * d + c] += scale * ds * Q[i * d + c];
                    mk[(kb * sk + j) * d + c] += scale * p[j] * (std::fabs(dp[j]) + std::fabs(D)) * std::fabs(Q[i * d + c]);
                }
            }
        }
    }
    char what[160];
    std::snprintf(what, sizeof what, "attention %lldx%lld (kv %lld) sq%lld sk%lld d%d causal=%d top_left=%d lens=%d",
                  (long long)batch, (long long)heads, (long long)kvh / batch, (long long)sq, (long long)sk, d, causal,
                  top_left, int(!lens.empty()));
    const std::string w = what;
    dkct::close(o.get(), wo, 1e-5, 1e-4, w + " o", &mo);
    dkct::close(lse.get(), wl, 1e-5, 1e-5, w + " lse");
    dkct::close(gq.get(), wq, 1e-5, 1e-4, w + " dq", &mq);
    dkct::close(gk.get(), wk, 1e-5, 1e-4, w + " dk", &mk);
    dkct::close(gv.get(), wv, 1e-5, 1e-4, w + " dv", &mv);
}
} // namespace

TEST(cuda_attention) {
    std::mt19937 rng(23);
    run(1, 2, 37, 37, 24, false, rng);
    run(2, 1, 50, 70, 64, false, rng);
    run(1, 2, 45, 45, 33, true, rng);
    run(1, 1, 20, 50, 128, true, rng); // seq_q < seq_k: bottom-right aligned mask
    run(1, 1, 40, 41, 16, true, rng);  // the last key of a query tile opens a new key tile
    run(1, 1, 3, 1, 5, false, rng);
    run(2, 4, 21, 21, 24, false, rng, 2);                      // grouped-query: 2 q heads per k/v head
    run(1, 6, 19, 19, 16, true, rng, 1, true);                 // multi-query, causal top-left
    run(1, 2, 30, 47, 40, true, rng, 0, true);                 // top-left with seq_q < seq_k
    run(3, 2, 17, 45, 32, false, rng, 1, false, {45, 1, 20});  // key lengths per batch, a full and a one-key batch
    run(2, 2, 33, 40, 8, true, rng, 0, true, {7, 40});         // key lengths with the causal mask
}

TEST(cuda_attention_bad_input) {
    float *p = reinterpret_cast<float *>(16);
    dkc_attention_desc d{1, 1, 4, 4, 129, 0, 0.1f, 0, 0, nullptr};
    dkct::expect_error(dkc_attention_forward(&d, p, p, p, p, p, nullptr), DK_INVALID_ARGUMENT, "head_dim",
                       "head_dim = 129");
    d.head_dim = 16, d.scale = 0.0f;
    dkct::expect_error(dkc_attention_forward(&d, p, p, p, p, p, nullptr), DK_INVALID_ARGUMENT, "scale", "scale = 0");
    d.scale = 0.25f, d.causal = 2;
    dkct::expect_error(dkc_attention_backward(&d, p, p, p, p, p, p, p, p, p, nullptr), DK_INVALID_ARGUMENT, "causal",
                       "causal = 2");
    d.causal = 0;
    dkct::expect_error(dkc_attention_backward(&d, p, p, p, p, p, p, p, p, nullptr, nullptr), DK_NULL_POINTER, "lse",
                       "lse = NULL");
    d.heads = 3, d.kv_heads = 2;
    dkct::expect_error(dkc_attention_forward(&d, p, p, p, p, p, nullptr), DK_INVALID_ARGUMENT, "kv_heads",
                       "kv_heads does not divide heads");
}

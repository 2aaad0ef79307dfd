// Reference attention, forward and backward side by side, accumulated in double: the truth every
// other implementation is tested against. Straight from the definition, one query row at a time:
//   s_j = scale * q_i . k_j  (j visible),  p_j = exp(s_j - max) / sum,  lse_i = max + log(sum)
//   p'_j = p_j * keep_ij / (1 - dropout),  out_i = sum_j p'_j v_j
// Backward (D_i = sum_j p'_j dp'_j = dout_i . out_i):
//   dv_j += p'_j dout_i,  dp'_j = dout_i . v_j,  ds_j = p_j (dp'_j keep_ij / (1 - dropout) - D_i)
//   dq_i = scale * sum_j ds_j k_j,  dk_j += scale * ds_j q_i
#include "core/attention.h"
#include "core/philox.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace dk {

namespace {

// One (batch, q head, query) row: the probabilities p (before dropout) and p' (after) over the
// visible keys [0, end), in double. Returns lse.
double row_probs(const dk_attention_desc &d, const float *qi, const float *kh, int64_t end, int64_t row,
                 std::vector<double> &p, std::vector<double> &pd) {
    const int64_t D = d.head_dim;
    double mx = -INFINITY;
    for (int64_t j = 0; j < end; ++j) {
        double s = 0;
        for (int64_t x = 0; x < D; ++x) s += static_cast<double>(qi[x]) * kh[j * D + x];
        p[j] = s * d.scale;
        mx = std::max(mx, p[j]);
    }
    double sum = 0;
    for (int64_t j = 0; j < end; ++j) sum += (p[j] = std::exp(p[j] - mx));
    const uint32_t threshold = dk_dropout_threshold(d.dropout);
    const double keep_scale = 1.0 / (1.0 - static_cast<double>(d.dropout));
    for (int64_t j = 0; j < end; ++j) {
        p[j] /= sum;
        pd[j] = d.dropout == 0.0f ? p[j]
                                  : (dk_dropout_keep(d.seed, threshold, row, d.kv_seq, j) ? p[j] * keep_scale : 0.0);
    }
    return mx + std::log(sum);
}

void attention_ref_forward(const AttentionForwardArgs &x) {
    const dk_attention_desc &d = x.d;
    const int64_t D = d.head_dim, group = d.q_heads / d.kv_heads;
    const int64_t rows = d.batch * d.q_heads * d.q_seq;
#pragma omp parallel
    {
        std::vector<double> p(d.kv_seq), pd(d.kv_seq), acc(D);
#pragma omp for schedule(static)
        for (int64_t row = 0; row < rows; ++row) { // row = (b * q_heads + h) * q_seq + i
            const int64_t i = row % d.q_seq, bh = row / d.q_seq, b = bh / d.q_heads, h = bh % d.q_heads;
            const int64_t kvh = b * d.kv_heads + h / group;
            const float *qi = x.q + row * D, *kh = x.k + kvh * d.kv_seq * D, *vh = x.v + kvh * d.kv_seq * D;
            const int64_t end = attention_key_end(d, x.key_lens, b, i);
            const double lse = row_probs(d, qi, kh, end, row, p, pd);
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int64_t j = 0; j < end; ++j)
                for (int64_t c = 0; c < D; ++c) acc[c] += pd[j] * vh[j * D + c];
            for (int64_t c = 0; c < D; ++c) x.out[row * D + c] = static_cast<float>(acc[c]);
            if (x.lse) x.lse[row] = static_cast<float>(lse);
        }
    }
}

// Threads over (batch, kv head): each owns its dk/dv slice and the dq rows of its q heads.
void attention_ref_backward(const AttentionBackwardArgs &x) {
    const dk_attention_desc &d = x.d;
    const int64_t D = d.head_dim, group = d.q_heads / d.kv_heads;
    const uint32_t threshold = dk_dropout_threshold(d.dropout);
    const double keep_scale = 1.0 / (1.0 - static_cast<double>(d.dropout));
#pragma omp parallel
    {
        std::vector<double> p(d.kv_seq), pd(d.kv_seq), ds(d.kv_seq), dqi(D), dkh(d.kv_seq * D), dvh(d.kv_seq * D);
#pragma omp for schedule(dynamic)
        for (int64_t bkv = 0; bkv < d.batch * d.kv_heads; ++bkv) {
            const int64_t b = bkv / d.kv_heads;
            const float *kh = x.k + bkv * d.kv_seq * D, *vh = x.v + bkv * d.kv_seq * D;
            std::fill(dkh.begin(), dkh.end(), 0.0);
            std::fill(dvh.begin(), dvh.end(), 0.0);
            for (int64_t h = (bkv % d.kv_heads) * group; h < (bkv % d.kv_heads + 1) * group; ++h)
                for (int64_t i = 0; i < d.q_seq; ++i) {
                    const int64_t row = (b * d.q_heads + h) * d.q_seq + i;
                    const float *qi = x.q + row * D, *doi = x.dout + row * D;
                    const int64_t end = attention_key_end(d, x.key_lens, b, i);
                    row_probs(d, qi, kh, end, row, p, pd);
                    double Di = 0;
                    for (int64_t j = 0; j < end; ++j) {
                        double dp = 0; // dp'_j
                        for (int64_t c = 0; c < D; ++c) dp += static_cast<double>(doi[c]) * vh[j * D + c];
                        Di += pd[j] * dp;
                        const bool kept = d.dropout == 0.0f || dk_dropout_keep(d.seed, threshold, row, d.kv_seq, j);
                        ds[j] = kept ? dp * (d.dropout == 0.0f ? 1.0 : keep_scale) : 0.0; // dp_j
                        for (int64_t c = 0; c < D; ++c) dvh[j * D + c] += pd[j] * doi[c];
                    }
                    std::fill(dqi.begin(), dqi.end(), 0.0);
                    for (int64_t j = 0; j < end; ++j) {
                        const double dsj = p[j] * (ds[j] - Di) * d.scale;
                        for (int64_t c = 0; c < D; ++c) {
                            dqi[c] += dsj * kh[j * D + c];
                            dkh[j * D + c] += dsj * qi[c];
                        }
                    }
                    for (int64_t c = 0; c < D; ++c) x.dq[row * D + c] = static_cast<float>(dqi[c]);
                }
            for (int64_t e = 0; e < d.kv_seq * D; ++e) {
                x.dk[bkv * d.kv_seq * D + e] = static_cast<float>(dkh[e]);
                x.dv[bkv * d.kv_seq * D + e] = static_cast<float>(dvh[e]);
            }
        }
    }
}

} // namespace

extern const AttentionImpl attention_ref = {"ref", [](const dk_attention_desc &) { return true; },
                                            attention_ref_forward, attention_ref_backward};

} // namespace dk

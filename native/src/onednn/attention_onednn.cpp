// Unfused attention through oneDNN: what a user composes from library primitives when no fused
// kernel exists. The whole score matrix S = [batch * kv_heads, group * q_seq, kv_seq] is
// materialized:
//   forward:  S = scale * Q K^T (matmul);  mask (-inf);  lse (when asked);  P = softmax(S);
//             dropout(P);  out = P V (matmul)
//   backward: S and P recomputed as above (the ABI keeps lse, not P);  dP' = dout V^T;
//             dV = P'^T dout;  dP = dropout(dP');  dS = softmax_backward(P, dP);
//             dQ = scale * dS K;  dK = scale * dS^T Q
// Grouped-query attention needs no copies: the q heads of one k/v head are contiguous rows, so
// every product is a batched matmul over (batch, kv head), and dK/dV sum the group inside the
// product. Primitives are cached per shape and team size; scratchpads and the score buffers are
// counted workspace (dk_workspace_peak_bytes). Score buffers are kept for the next call (as a
// framework's caching allocator would): without that, each call of a 128 MiB S would pay ~40 ms of
// page faults on top of the computation, and this baseline would look slower than it is.
#include "core/attention.h"
#include "core/error.h"
#include "core/philox.h"
#include "core/workspace.h"
#include "engine.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace dk {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;

dnnl::primitive_attr user_scratchpad(float scale) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (scale != 1.0f) {
        dnnl::post_ops ops;
        ops.append_eltwise(dnnl::algorithm::eltwise_linear, scale, 0.0f);
        attr.set_post_ops(ops);
    }
    return attr;
}

struct Prim {
    dnnl::primitive prim;
    memory::desc a, b, c, scratch;
};

// A cache of primitives by a text key (shape, transposes, scale, team size).
class Cache {
public:
    template <class Make>
    Prim get(const std::string &key, Make make) {
        const std::string k = key + "/t" + std::to_string(omp_get_max_threads());
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = map_.find(k);
            if (it != map_.end()) return it->second;
        }
        Prim p = make();
        std::lock_guard<std::mutex> lock(mutex_);
        if (map_.size() >= 256) map_.clear();
        return map_.emplace(k, p).first->second;
    }

private:
    std::mutex mutex_;
    std::map<std::string, Prim> map_;
};

Cache &cache() {
    static Cache c;
    return c;
}

// [batch, rows, cols], row-major, or stored transposed ([batch, cols, rows] row-major).
memory::desc matrix(int64_t batch, int64_t rows, int64_t cols, bool transposed) {
    return memory::desc({batch, rows, cols}, f32,
                        transposed ? memory::dims{rows * cols, 1, rows} : memory::dims{rows * cols, cols, 1});
}

void execute(const Prim &p, std::unordered_map<int, memory> args) {
    const dnnl::engine &eng = onednn::engine();
    Workspace scratch(static_cast<int64_t>(p.scratch.get_size()));
    if (scratch.bytes() > 0) args.insert({DNNL_ARG_SCRATCHPAD, memory(p.scratch, eng, scratch.data())});
    dnnl::stream &s = onednn::stream();
    p.prim.execute(s, args);
    s.wait();
}

// c[batch][m][n] = scale * op(a)[m][k] op(b)[k][n]
void matmul(float *c, const float *a, bool ta, const float *b, bool tb, int64_t batch, int64_t m, int64_t k,
            int64_t n, float scale) {
    char key[200];
    std::snprintf(key, sizeof key, "mm %lld %lld %lld %lld %d %d %a", (long long)batch, (long long)m, (long long)k,
                  (long long)n, ta, tb, scale);
    const Prim p = cache().get(key, [&] {
        const memory::desc a_md = matrix(batch, m, k, ta), b_md = matrix(batch, k, n, tb),
                           c_md = matrix(batch, m, n, false);
        dnnl::matmul::primitive_desc pd(onednn::engine(), a_md, b_md, c_md, user_scratchpad(scale));
        return Prim{dnnl::matmul(pd), a_md, b_md, c_md, pd.scratchpad_desc()};
    });
    const dnnl::engine &eng = onednn::engine();
    execute(p, {{DNNL_ARG_SRC, memory(p.a, eng, const_cast<float *>(a))},
                {DNNL_ARG_WEIGHTS, memory(p.b, eng, const_cast<float *>(b))},
                {DNNL_ARG_DST, memory(p.c, eng, c)}});
}

dnnl::softmax_forward::primitive_desc softmax_pd(const memory::desc &md) {
    return dnnl::softmax_forward::primitive_desc(onednn::engine(), dnnl::prop_kind::forward_training,
                                                 dnnl::algorithm::softmax_accurate, md, md, 1, user_scratchpad(1.0f));
}

// Row-wise softmax over [rows, cols], in place.
void softmax(float *s, int64_t rows, int64_t cols) {
    const Prim p = cache().get("sm " + std::to_string(rows) + " " + std::to_string(cols), [&] {
        const memory::desc md({rows, cols}, f32, tag::ab);
        const auto pd = softmax_pd(md);
        return Prim{dnnl::softmax_forward(pd), md, md, md, pd.scratchpad_desc()};
    });
    const memory m(p.a, onednn::engine(), s);
    execute(p, {{DNNL_ARG_SRC, m}, {DNNL_ARG_DST, m}});
}

// ds = softmax backward given the softmax p and the gradient dp at it, in place over dp.
void softmax_backward(float *dp, const float *p, int64_t rows, int64_t cols) {
    const Prim pr = cache().get("smb " + std::to_string(rows) + " " + std::to_string(cols), [&] {
        const memory::desc md({rows, cols}, f32, tag::ab);
        dnnl::softmax_backward::primitive_desc pd(onednn::engine(), dnnl::algorithm::softmax_accurate, md, md, md, 1,
                                                  softmax_pd(md), user_scratchpad(1.0f));
        return Prim{dnnl::softmax_backward(pd), md, md, md, pd.scratchpad_desc()};
    });
    const dnnl::engine &eng = onednn::engine();
    const memory g(pr.a, eng, dp);
    execute(pr, {{DNNL_ARG_DST, memory(pr.a, eng, const_cast<float *>(p))}, {DNNL_ARG_DIFF_DST, g},
                 {DNNL_ARG_DIFF_SRC, g}});
}

// The shapes of the batched products: per (batch, kv head), the group's query rows.
struct Geometry {
    int64_t bh, rows, keys, D; // bh = batch * kv_heads, rows = group * q_seq
    explicit Geometry(const dk_attention_desc &d)
        : bh(d.batch * d.kv_heads), rows(d.q_heads / d.kv_heads * d.q_seq), keys(d.kv_seq), D(d.head_dim) {}
    int64_t scores() const { return bh * rows * keys; }
};

// S = scale Q K^T, masked to -inf; the row index r of S is the global query row
// (b * q_heads + h) * q_seq + i.
void masked_scores(const dk_attention_desc &d, const Geometry &g, float *s, const float *q, const float *k,
                   const int32_t *key_lens) {
    matmul(s, q, false, k, true, g.bh, g.rows, g.D, g.keys, d.scale);
    if (!d.causal && !key_lens) return;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < g.bh * g.rows; ++r) {
        const int64_t b = r / (d.q_heads * d.q_seq), i = r % d.q_seq;
        std::fill(s + r * g.keys + attention_key_end(d, key_lens, b, i), s + (r + 1) * g.keys, -INFINITY);
    }
}

// p = dropout(p), or its gradient; rows of `keys` elements.
void dropout(const dk_attention_desc &d, float *p, int64_t rows, int64_t keys) {
    const uint32_t threshold = dk_dropout_threshold(d.dropout);
    const float keep_scale = 1.0f / (1.0f - d.dropout);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < keys; ++j)
            p[r * keys + j] *= dk_dropout_keep(d.seed, threshold, r, keys, j) ? keep_scale : 0.0f;
}

// Released score buffers, reused by the next calls; dk_release_workspace_cache frees them.
class ScorePool {
public:
    Workspace take(int64_t bytes) {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto it = free_.begin(); it != free_.end(); ++it)
            if (it->bytes() >= bytes && it->bytes() <= 2 * bytes) {
                Workspace w = std::move(*it);
                free_.erase(it);
                return w;
            }
        return Workspace(bytes);
    }
    void give(Workspace &&w) {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.push_back(std::move(w));
        if (free_.size() > 3) free_.erase(free_.begin()); // the oldest goes
    }
    void clear() {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.clear();
    }

private:
    std::mutex mutex_;
    std::vector<Workspace> free_;
};

ScorePool &pool() {
    static ScorePool p;
    return p;
}

// A score buffer from the pool, returned to it on destruction.
struct Scores {
    Workspace w;
    explicit Scores(int64_t bytes) : w(pool().take(bytes)) {}
    ~Scores() { pool().give(std::move(w)); }
    float *floats() const { return w.floats(); }
};

void attention_onednn_forward(const AttentionForwardArgs &x) {
    const dk_attention_desc &d = x.d;
    const Geometry g(d);
    Scores s(g.scores() * static_cast<int64_t>(sizeof(float)));
    masked_scores(d, g, s.floats(), x.q, x.k, x.key_lens);
    if (x.lse) {
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < g.bh * g.rows; ++r) {
            const float *row = s.floats() + r * g.keys;
            const float mx = *std::max_element(row, row + g.keys);
            double sum = 0;
            for (int64_t j = 0; j < g.keys; ++j) sum += std::exp(static_cast<double>(row[j] - mx));
            x.lse[r] = static_cast<float>(mx + std::log(sum));
        }
    }
    softmax(s.floats(), g.bh * g.rows, g.keys);
    if (d.dropout > 0.0f) dropout(d, s.floats(), g.bh * g.rows, g.keys);
    matmul(x.out, s.floats(), false, x.v, false, g.bh, g.rows, g.keys, g.D, 1.0f);
}

void attention_onednn_backward(const AttentionBackwardArgs &x) {
    const dk_attention_desc &d = x.d;
    const Geometry g(d);
    const int64_t bytes = g.scores() * static_cast<int64_t>(sizeof(float));
    Scores p(bytes), dp(bytes);
    masked_scores(d, g, p.floats(), x.q, x.k, x.key_lens);
    softmax(p.floats(), g.bh * g.rows, g.keys);
    matmul(dp.floats(), x.dout, false, x.v, true, g.bh, g.rows, g.D, g.keys, 1.0f); // dP' = dout V^T
    if (d.dropout > 0.0f) {
        Scores pd(bytes); // P' = dropout(P)
        std::copy(p.floats(), p.floats() + g.scores(), pd.floats());
        dropout(d, pd.floats(), g.bh * g.rows, g.keys);
        matmul(x.dv, pd.floats(), true, x.dout, false, g.bh, g.keys, g.rows, g.D, 1.0f);
        dropout(d, dp.floats(), g.bh * g.rows, g.keys);
    } else {
        matmul(x.dv, p.floats(), true, x.dout, false, g.bh, g.keys, g.rows, g.D, 1.0f); // dV = P^T dout
    }
    softmax_backward(dp.floats(), p.floats(), g.bh * g.rows, g.keys);              // dS
    matmul(x.dq, dp.floats(), false, x.k, false, g.bh, g.rows, g.keys, g.D, d.scale); // dQ = scale dS K
    matmul(x.dk, dp.floats(), true, x.q, false, g.bh, g.keys, g.rows, g.D, d.scale);  // dK = scale dS^T Q
}

} // namespace

void release_attention_onednn_cache() { pool().clear(); }

extern const AttentionImpl attention_onednn = {"onednn_unfused", [](const dk_attention_desc &) { return true; },
                                               attention_onednn_forward, attention_onednn_backward};

} // namespace dk

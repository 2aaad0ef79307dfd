// Fused flash-style attention on the CPU, forward and backward side by side, in O(seq) memory.
//
// A work item is a tile of 64 queries of one (batch, head). The tile's queries are packed
// transposed and pre-scaled (qt[x][c] = q[c][x] * scale * log2(e), so scores come out in base-2
// units and exp is exp2), then the keys are streamed in blocks of 64 straight from k and v:
//   s   = k_blk . qt                 [64 keys][64 queries]  (scores, masked, block max per query)
//   m'  = max(m, max s); alpha = 2^(m - m'); l = alpha l + sum 2^(s - m')      (online softmax)
//   ot  = alpha ot + v_blk^T . p     [head_dim][64 queries] (the output, transposed)
// so the S x S score matrix never exists: per thread the workspace is qt, ot (head_dim x 64 each)
// and one 64 x 64 block. Causal attention stops at the tile's last query and masks only the
// blocks that straddle the diagonal. lse = ln 2 (m + log2 l) is saved for the backward.
//
// The backward (FlashAttention-2's recomputation) takes a chunk of keys of one (batch, kv head)
// per work item, which owns those dk/dv rows, and for each query tile recomputes p = 2^(s - lse)
// block by block:
//   dp' = v_blk . dout_t,  dv_blk += p'^T dout,  ds = p (dp - D)  with D = rowsum(dout * out)
//   dk_blk += ds^T q,  dq_t += k_blk^T ds            (dq, dk scaled by `scale` at the end)
// and adds its dq_t to the tile's dq after the earlier chunks did (see attention_cpu_backward).
// The inner products are the Kernels of attention_kernels.h, chosen by dk::cpu_isa().
#include "attention_kernels.h"
#include "core/attention.h"
#include "core/cpu_features.h"
#include "core/philox.h"
#include "core/workspace.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <new>
#include <thread>

namespace dk {

namespace {

using attention::key_block;
using attention::lanes;
using attention::Kernels;

constexpr float log2e = 1.4426950408889634f, ln2 = 0.6931471805599453f;

const Kernels &kernels() {
    switch (cpu_isa()) {
    case Isa::avx512: return attention::kernels_avx512;
    case Isa::avx2: return attention::kernels_avx2;
    default: return attention::kernels_generic;
    }
}

// qt[x][c] = src[c * D + x] * scale for c < n, 0 for the padding lanes.
void pack_transposed(const Kernels &K, float *qt, const float *src, int64_t D, int n, float scale) {
    K.transpose(qt, lanes, src, D, static_cast<int>(D), n, nullptr, scale);
    if (n < lanes)
        for (int64_t x = 0; x < D; ++x) std::fill(qt + x * lanes + n, qt + (x + 1) * lanes, 0.0f);
}

// Keys [0, end) that any query of the tile [q0, q0 + n) sees.
int64_t tile_key_end(const dk_attention_desc &d, const int32_t *key_lens, int64_t b, int64_t q0, int n) {
    return attention_key_end(d, key_lens, b, q0 + n - 1);
}

// The causal mask origin for a key block, or -1 when no key of the block lies after a query.
int64_t causal_mask(const dk_attention_desc &d, int64_t q0, int64_t k0, int rows) {
    return d.causal && k0 + rows - 1 > q0 ? q0 : -1;
}

// p[j][c] *= keep(row0 + c, k0 + j) / (1 - dropout) for the tile's real queries.
void apply_dropout(const dk_attention_desc &d, float *p, int rows, int n, int64_t row0, int64_t k0) {
    const uint32_t threshold = dk_dropout_threshold(d.dropout);
    const float keep_scale = 1.0f / (1.0f - d.dropout);
    for (int j = 0; j < rows; ++j)
        for (int c = 0; c < n; ++c)
            p[j * lanes + c] *= dk_dropout_keep(d.seed, threshold, row0 + c, d.kv_seq, k0 + j) ? keep_scale : 0.0f;
}

struct Tiles {
    int64_t per_head, items;
};

Tiles tiles(const dk_attention_desc &d) {
    const int64_t per_head = (d.q_seq + lanes - 1) / lanes;
    return {per_head, d.batch * d.q_heads * per_head};
}

// ---- forward --------------------------------------------------------------------------------------

void attention_cpu_forward(const AttentionForwardArgs &x) {
    const dk_attention_desc &d = x.d;
    const Kernels &K = kernels();
    const int64_t D = d.head_dim, group = d.q_heads / d.kv_heads;
    const Tiles t = tiles(d);
    const int threads = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), t.items));
    // per thread: qt, ot [D][64]; s [64][64]; m, l, mx, alpha, zero [64]
    const int64_t per_thread = 2 * D * lanes + key_block * lanes + 5 * lanes;
    Workspace ws(threads * per_thread * static_cast<int64_t>(sizeof(float)));

#pragma omp parallel num_threads(threads)
    {
        float *qt = ws.floats() + omp_get_thread_num() * per_thread;
        float *ot = qt + D * lanes, *s = ot + D * lanes, *m = s + key_block * lanes;
        float *l = m + lanes, *mx = l + lanes, *alpha = mx + lanes, *zero = alpha + lanes;
        std::fill(zero, zero + lanes, 0.0f);
#pragma omp for schedule(dynamic)
        for (int64_t item = 0; item < t.items; ++item) {
            const int64_t bh = item / t.per_head, b = bh / d.q_heads, h = bh % d.q_heads;
            const int64_t q0 = (item % t.per_head) * lanes;
            const int n = static_cast<int>(std::min<int64_t>(lanes, d.q_seq - q0));
            const int64_t row0 = bh * d.q_seq + q0;                           // first query row
            const int64_t kv0 = (b * d.kv_heads + h / group) * d.kv_seq * D; // its k/v head
            const float *kh = x.k + kv0, *vh = x.v + kv0;

            pack_transposed(K, qt, x.q + row0 * D, D, n, d.scale * log2e);
            std::fill(ot, ot + D * lanes, 0.0f);
            std::fill(m, m + lanes, -INFINITY);
            std::fill(l, l + lanes, 0.0f);
            const int64_t end = tile_key_end(d, x.key_lens, b, q0, n);
            for (int64_t k0 = 0; k0 < end; k0 += key_block) {
                const int rows = static_cast<int>(std::min<int64_t>(key_block, end - k0));
                std::fill(mx, mx + lanes, -INFINITY);
                K.scores(s, kh + k0 * D, D, rows, qt, static_cast<int>(D), k0, causal_mask(d, q0, k0, rows), mx);
                for (int c = 0; c < lanes; ++c) {
                    const float m_new = std::max(m[c], mx[c]); // finite: key 0 is in the first block
                    alpha[c] = m[c] - m_new;
                    m[c] = m_new;
                }
                K.exp2_rows(alpha, 1, zero, nullptr); // alpha = 2^(m_old - m_new)
                bool rescale = false;                 // once the maxima settle, alpha is all 1
                for (int c = 0; c < lanes; ++c) l[c] *= alpha[c], rescale |= alpha[c] != 1.0f;
                K.exp2_rows(s, rows, m, l);
                if (d.dropout > 0.0f) apply_dropout(d, s, rows, n, row0, k0);
                K.accum_t(ot, static_cast<int>(D), vh + k0 * D, D, rows, s, rescale ? alpha : nullptr);
            }
            for (int c = 0; c < n; ++c) {
                if (x.lse) x.lse[row0 + c] = (m[c] + std::log2(l[c])) * ln2;
                l[c] = 1.0f / l[c];
            }
            K.transpose(x.out + row0 * D, D, ot, lanes, n, static_cast<int>(D), l, 1.0f); // out = ot^T / l
        }
    }
}

// ---- backward -------------------------------------------------------------------------------------

// Keys per work item of the backward: k, v, dk and dv rows of one chunk (4 x 256 x head_dim
// floats, 256 KiB at head_dim 64) stay in L2 while every query tile of the head streams past them.
// Halved (down to one key block) while there would be fewer than 8 items, so that small problems
// still keep a few threads busy. A function of the shape alone, never of the thread count: the
// chunks fix the order in which dq is summed, so any thread count gives the same bits.
int64_t key_chunk(const dk_attention_desc &d) {
    int64_t chunk = 256;
    auto items = [&](int64_t c) { return d.batch * d.kv_heads * ((d.kv_seq + c - 1) / c); };
    while (chunk > key_block && items(chunk) < 8) chunk /= 2;
    return chunk;
}

// Spins until *flag == value (acquire): another thread's dq contribution to the tile is in.
void wait_for(const std::atomic<int32_t> &flag, int32_t value) {
    for (int spins = 0; flag.load(std::memory_order_acquire) != value; ++spins) {
        if (spins < 4096) _mm_pause();
        else std::this_thread::yield();
    }
}

void attention_cpu_backward(const AttentionBackwardArgs &x) {
    const dk_attention_desc &d = x.d;
    const Kernels &K = kernels();
    const int64_t D = d.head_dim, group = d.q_heads / d.kv_heads, per_head = tiles(d).per_head;
    const int max_threads = omp_get_max_threads();
    const int64_t chunk = key_chunk(d), chunks = (d.kv_seq + chunk - 1) / chunk;
    const int64_t items = d.batch * d.kv_heads * chunks, q_tiles = d.batch * d.q_heads * per_head;
    const int threads = static_cast<int>(std::min<int64_t>(max_threads, items));
    // per thread: qt, dot, dqt [D][64]; p, dp, pd [64][64]; lse2, dvec [64]
    const int64_t per_thread = 3 * D * lanes + 3 * key_block * lanes + 2 * lanes;
    // then one counter per query tile: how many key chunks have added their part of its dq
    const int64_t counters_at = threads * per_thread * static_cast<int64_t>(sizeof(float));
    Workspace ws(counters_at + q_tiles * static_cast<int64_t>(sizeof(std::atomic<int32_t>)));
    std::atomic<int32_t> *done = reinterpret_cast<std::atomic<int32_t> *>(static_cast<char *>(ws.data()) + counters_at);
    for (int64_t i = 0; i < q_tiles; ++i) new (done + i) std::atomic<int32_t>(0);
    std::atomic<int64_t> next{0};

    // A work item is a key chunk of one (batch, kv head): it owns those dk and dv rows. Every
    // chunk adds a part to the dq of each query tile that sees it; the parts go in in chunk order
    // (chunk c waits for the tile's counter to reach c, which chunks 0 .. c-1 raise: a tile that
    // sees chunk c sees every earlier chunk), so dq is the same sum whatever the thread count.
    // Items are taken in increasing order, so the chunk waited for is running or done.
#pragma omp parallel num_threads(threads)
    {
        float *qt = ws.floats() + omp_get_thread_num() * per_thread;
        float *dot = qt + D * lanes, *dqt = dot + D * lanes, *p = dqt + D * lanes;
        float *dp = p + key_block * lanes, *pd = dp + key_block * lanes, *lse2 = pd + key_block * lanes;
        float *dvec = lse2 + lanes;
        for (int64_t item; (item = next.fetch_add(1, std::memory_order_relaxed)) < items;) {
            const int64_t bkv = item / chunks, b = bkv / d.kv_heads, c = item % chunks, kc = c * chunk;
            const int64_t rows_end = std::min(kc + chunk, d.kv_seq);
            const float *kh = x.k + bkv * d.kv_seq * D, *vh = x.v + bkv * d.kv_seq * D;
            float *dkh = x.dk + bkv * d.kv_seq * D, *dvh = x.dv + bkv * d.kv_seq * D;
            std::fill(dkh + kc * D, dkh + rows_end * D, 0.0f);
            std::fill(dvh + kc * D, dvh + rows_end * D, 0.0f);
            for (int64_t h = (bkv % d.kv_heads) * group; h < (bkv % d.kv_heads + 1) * group; ++h)
                for (int64_t tile = per_head - 1; tile >= 0; --tile) { // the diagonal's tiles first
                    const int64_t q0 = tile * lanes, row0 = (b * d.q_heads + h) * d.q_seq + q0;
                    const int n = static_cast<int>(std::min<int64_t>(lanes, d.q_seq - q0));
                    const int64_t end = std::min(rows_end, tile_key_end(d, x.key_lens, b, q0, n));
                    if (kc >= end) continue; // no key of this chunk is visible to the tile
                    const float *qr = x.q + row0 * D, *dor = x.dout + row0 * D, *outr = x.out + row0 * D;
                    float *dqr = x.dq + row0 * D;
                    pack_transposed(K, qt, qr, D, n, d.scale * log2e);
                    pack_transposed(K, dot, dor, D, n, 1.0f);
                    std::fill(dqt, dqt + D * lanes, 0.0f);
                    for (int c2 = 0; c2 < lanes; ++c2) {
                        float acc = 0.0f;
                        if (c2 < n)
                            for (int64_t e = 0; e < D; ++e) acc += dor[c2 * D + e] * outr[c2 * D + e];
                        dvec[c2] = acc;                                          // D = rowsum(dout * out)
                        lse2[c2] = c2 < n ? x.lse[row0 + c2] * log2e : INFINITY; // padding: p = 0
                    }
                    for (int64_t k0 = kc; k0 < end; k0 += key_block) {
                        const int rows = static_cast<int>(std::min<int64_t>(key_block, end - k0));
                        K.scores(p, kh + k0 * D, D, rows, qt, static_cast<int>(D), k0,
                                 causal_mask(d, q0, k0, rows), nullptr);
                        K.exp2_rows(p, rows, lse2, nullptr); // p = softmax, recomputed
                        K.scores(dp, vh + k0 * D, D, rows, dot, static_cast<int>(D), k0, -1, nullptr); // dp'
                        const float *pkept = p;
                        if (d.dropout > 0.0f) { // pd = p' = dropout(p); dp = dropout(dp')
                            std::memcpy(pd, p, sizeof(float) * rows * lanes);
                            apply_dropout(d, pd, rows, n, row0, k0);
                            apply_dropout(d, dp, rows, n, row0, k0);
                            pkept = pd;
                        }
                        K.accum_rows(dvh + k0 * D, D, rows, pkept, n, dor, D, static_cast<int>(D));
                        K.softmax_grad(dp, p, rows, dvec); // dp = ds
                        K.accum_rows(dkh + k0 * D, D, rows, dp, n, qr, D, static_cast<int>(D));
                        K.accum_t(dqt, static_cast<int>(D), kh + k0 * D, D, rows, dp, nullptr);
                    }
                    std::atomic<int32_t> &tile_done = done[(b * d.q_heads + h) * per_head + tile];
                    if (c == 0) { // dq = scale dqt^T, summed over the chunks in order
                        K.transpose(dqr, D, dqt, lanes, n, static_cast<int>(D), nullptr, d.scale);
                    } else {
                        K.transpose(dot, D, dqt, lanes, n, static_cast<int>(D), nullptr, d.scale); // dot: free now
                        wait_for(tile_done, static_cast<int32_t>(c));
                        for (int64_t e = 0; e < n * D; ++e) dqr[e] += dot[e];
                    }
                    tile_done.store(static_cast<int32_t>(c + 1), std::memory_order_release);
                }
            for (int64_t e = kc * D; e < rows_end * D; ++e) dkh[e] *= d.scale;
        }
    }
}

} // namespace

extern const AttentionImpl attention_cpu = {"cpu_flash", [](const dk_attention_desc &) { return true; },
                                            attention_cpu_forward, attention_cpu_backward};

} // namespace dk

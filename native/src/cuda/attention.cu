// Flash-style attention, forward and backward (FlashAttention 2's schedule, fp32 SIMT math).
//
// Forward: a block per (query tile of 16 rows, batch * head), 4 warps of 4 rows each. K and V
// stream through shared memory in tiles of 32 keys; lane j scores key j against each of its
// warp's rows, the warp keeps each row's running max and sum (online softmax), rescales the
// output accumulator (lane owns dimensions lane, lane + 32, ...) and adds P V. The scores never
// reach global memory: reads are Q once, K and V once per query tile. Causal: key tiles past the
// tile's last visible key are skipped, and the diagonal tile is masked.
//
// Backward: D = rowsum(dO * O) first; then a block per (key tile of 16 keys, batch * head), 4
// warps of 4 keys each, keeping dK and dV of its keys in registers while query tiles of 32 rows
// stream through shared memory (lane = query row for the scores, lane = dimension for the
// accumulations). dQ gets each tile's contribution with one float atomic per element. Causal:
// query tiles that cannot see the key tile are skipped.
//
// Shared-memory rows read by lane-indexed rows are padded to head_dim + 1 floats (conflict-free for
// even head_dim). Not done: tensor-core mma for Q K^T and P V (the GEMM's mma.h path), which the
// 50%-of-peak target needs; this version is the correct, memory-efficient baseline.
#include "dk_cuda_rt.h"
#include "reduce.cuh"

#include <cmath>

namespace {

constexpr int DMAX = 128, NDIM = DMAX / 32;

struct Attn {
    int64_t bh, sq, sk;
    int d, causal;
    float scale;
    int64_t heads, group; // q heads per batch; q heads per k/v head (grouped-query attention)
    int64_t offset;       // causal: query i sees keys j <= i + offset
    const int32_t *key_lens; // [batch] valid keys per batch, or null (all sk)

    // The k/v head of q head bh, and the number of valid keys of its batch.
    __device__ int64_t kv_head(int64_t qbh) const { return qbh / heads * (heads / group) + qbh % heads / group; }
    __device__ int64_t keys(int64_t qbh) const { return key_lens ? key_lens[qbh / heads] : sk; }
};

// ---- forward ------------------------------------------------------------------------------------

constexpr int F_WARPS = 4, F_ROWS = 4, F_BQ = F_WARPS * F_ROWS, F_BKV = 32;

__global__ __launch_bounds__(F_WARPS * 32) void flash_attention_forward_kernel(const Attn a, float *o, float *lse,
                                                                                const float *q, const float *k,
                                                                                const float *v) {
    DK_SHARED(float, Qs, [F_BQ][DMAX]);
    DK_SHARED(float, Ks, [F_BKV][DMAX + 1]);
    DK_SHARED(float, Vs, [F_BKV][DMAX]);
    DK_SHARED(float, Ps, [F_WARPS][F_ROWS][F_BKV]);
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, d = a.d;
    const int64_t bh = blockIdx.y, q0 = static_cast<int64_t>(blockIdx.x) * F_BQ;
    const int64_t kvh = a.kv_head(bh), keys = a.keys(bh);
    const float *qb = q + bh * a.sq * d, *kb = k + kvh * a.sk * d, *vb = v + kvh * a.sk * d;
    for (int e = tid; e < F_BQ * DMAX; e += F_WARPS * 32) {
        const int r = e / DMAX, c = e % DMAX;
        Qs[r][c] = q0 + r < a.sq && c < d ? qb[(q0 + r) * d + c] : 0.0f;
    }
    float m[F_ROWS], l[F_ROWS], acc[F_ROWS][NDIM];
#pragma unroll
    for (int r = 0; r < F_ROWS; ++r) {
        m[r] = -INFINITY, l[r] = 0.0f;
#pragma unroll
        for (int i = 0; i < NDIM; ++i) acc[r][i] = 0.0f;
    }
    const int64_t offset = a.offset; // causal: row i sees keys <= i + offset
    int64_t kv_end = keys;
    if (a.causal) {
        const int64_t last = q0 + F_BQ - 1 + offset + 1;
        kv_end = last < kv_end ? last : kv_end;
    }
    for (int64_t kv0 = 0; kv0 < kv_end; kv0 += F_BKV) {
        for (int e = tid; e < F_BKV * DMAX; e += F_WARPS * 32) {
            const int r = e / DMAX, c = e % DMAX;
            const bool in = kv0 + r < a.sk && c < d;
            Ks[r][c] = in ? kb[(kv0 + r) * d + c] : 0.0f;
            Vs[r][c] = in ? vb[(kv0 + r) * d + c] : 0.0f;
        }
        __syncthreads();
        const int64_t key = kv0 + lane;
#pragma unroll
        for (int rr = 0; rr < F_ROWS; ++rr) {
            const int row = warp * F_ROWS + rr;
            const int64_t qi = q0 + row;
            float s = 0.0f;
            for (int c = 0; c < d; ++c) s = fmaf(Qs[row][c], Ks[lane][c], s);
            const bool valid = key < keys && qi < a.sq && (!a.causal || key <= qi + offset);
            s = valid ? s * a.scale : -INFINITY;
            const float m_new = fmaxf(m[rr], dk_warp_max(s));
            const float p = s == -INFINITY ? 0.0f : expf(s - m_new);
            const float corr = m[rr] == -INFINITY ? 0.0f : expf(m[rr] - m_new);
            l[rr] = l[rr] * corr + dk_warp_sum(p);
            m[rr] = m_new;
            Ps[warp][rr][lane] = p;
#pragma unroll
            for (int i = 0; i < NDIM; ++i) acc[rr][i] *= corr;
        }
        __syncwarp();
        for (int j = 0; j < F_BKV; ++j)
#pragma unroll
            for (int rr = 0; rr < F_ROWS; ++rr) {
                const float p = Ps[warp][rr][j];
#pragma unroll
                for (int i = 0; i < NDIM; ++i) acc[rr][i] = fmaf(p, Vs[j][lane + 32 * i], acc[rr][i]);
            }
        __syncthreads(); // Ks, Vs and Ps are overwritten by the next tile
    }
#pragma unroll
    for (int rr = 0; rr < F_ROWS; ++rr) {
        const int64_t qi = q0 + warp * F_ROWS + rr;
        if (qi >= a.sq) continue;
        const float inv = l[rr] > 0.0f ? 1.0f / l[rr] : 0.0f;
#pragma unroll
        for (int i = 0; i < NDIM; ++i)
            if (lane + 32 * i < d) o[(bh * a.sq + qi) * d + lane + 32 * i] = acc[rr][i] * inv;
        if (lane == 0) lse[bh * a.sq + qi] = l[rr] > 0.0f ? m[rr] + logf(l[rr]) : -INFINITY;
    }
}

// ---- backward -----------------------------------------------------------------------------------

constexpr int B_WARPS = 4, B_KEYS = 4, B_BKV = B_WARPS * B_KEYS, B_BQ = 32;

// D[i] = sum over dimensions of dO[i] * O[i]: one warp per row.
__global__ __launch_bounds__(256) void attention_backward_dot_kernel(float *dvec, const float *dout, const float *o,
                                                                      int64_t rows, int d) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * 8 + threadIdx.x / 32;
    if (row >= rows) return;
    float s = 0.0f;
    for (int c = threadIdx.x % 32; c < d; c += 32) s += dout[row * d + c] * o[row * d + c];
    s = dk_warp_sum(s);
    if (threadIdx.x % 32 == 0) dvec[row] = s;
}

size_t backward_smem_bytes(int d) {
    const int dp = d + 1;
    return sizeof(float) * (2 * B_BQ * dp + 2 * B_BKV * dp + 2 * B_BQ + B_BKV * B_BQ + B_WARPS * B_BQ);
}

__global__ __launch_bounds__(B_WARPS * 32) void flash_attention_backward_kernel(const Attn a, float *dq, float *dk,
                                                                                 float *dv, const float *dout,
                                                                                 const float *q, const float *k,
                                                                                 const float *v, const float *lse,
                                                                                 const float *dvec) {
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, d = a.d, dp = d + 1;
    float *smem = dk_dynamic_shared<float>();
    float *Qs = smem, *dOs = Qs + B_BQ * dp, *Ks = dOs + B_BQ * dp, *Vs = Ks + B_BKV * dp;
    float *Ls = Vs + B_BKV * dp, *Ds = Ls + B_BQ, *DSs = Ds + B_BQ, *Ps = DSs + B_BKV * B_BQ;
    const int64_t bh = blockIdx.y, kv0 = static_cast<int64_t>(blockIdx.x) * B_BKV;
    const int64_t kvh = a.kv_head(bh), keys = a.keys(bh);
    const float *qb = q + bh * a.sq * d, *kb = k + kvh * a.sk * d, *vb = v + kvh * a.sk * d;
    const float *dob = dout + bh * a.sq * d;
    for (int e = tid; e < B_BKV * d; e += B_WARPS * 32) {
        const int r = e / d, c = e % d;
        const bool in = kv0 + r < a.sk;
        Ks[r * dp + c] = in ? kb[(kv0 + r) * d + c] : 0.0f;
        Vs[r * dp + c] = in ? vb[(kv0 + r) * d + c] : 0.0f;
    }
    float dk_acc[B_KEYS][NDIM], dv_acc[B_KEYS][NDIM];
#pragma unroll
    for (int j = 0; j < B_KEYS; ++j)
#pragma unroll
        for (int i = 0; i < NDIM; ++i) dk_acc[j][i] = dv_acc[j][i] = 0.0f;
    const int64_t offset = a.offset;
    int64_t qt0 = 0;
    if (a.causal && kv0 - offset > 0) qt0 = (kv0 - offset) / B_BQ * B_BQ; // earlier rows see none of these keys
    for (int64_t qt = qt0; qt < a.sq; qt += B_BQ) {
        __syncthreads(); // the previous tile's readers are done
        for (int e = tid; e < B_BQ * d; e += B_WARPS * 32) {
            const int r = e / d, c = e % d;
            const bool in = qt + r < a.sq;
            Qs[r * dp + c] = in ? qb[(qt + r) * d + c] : 0.0f;
            dOs[r * dp + c] = in ? dob[(qt + r) * d + c] : 0.0f;
        }
        if (tid < B_BQ) {
            const bool in = qt + tid < a.sq;
            Ls[tid] = in ? lse[bh * a.sq + qt + tid] : 0.0f;
            Ds[tid] = in ? dvec[bh * a.sq + qt + tid] : 0.0f;
        }
        __syncthreads();
        const int64_t qi = qt + lane;
#pragma unroll
        for (int jj = 0; jj < B_KEYS; ++jj) {
            const int j = warp * B_KEYS + jj;
            const int64_t key = kv0 + j;
            float s = 0.0f, dpv = 0.0f;
            for (int c = 0; c < d; ++c) {
                s = fmaf(Qs[lane * dp + c], Ks[j * dp + c], s);
                dpv = fmaf(dOs[lane * dp + c], Vs[j * dp + c], dpv);
            }
            const bool valid = qi < a.sq && key < keys && (!a.causal || key <= qi + offset) && Ls[lane] != -INFINITY;
            const float p = valid ? expf(s * a.scale - Ls[lane]) : 0.0f;
            const float ds = p * (dpv - Ds[lane]);
            Ps[warp * B_BQ + lane] = p;
            DSs[j * B_BQ + lane] = ds;
            __syncwarp();
#pragma unroll
            for (int i = 0; i < NDIM; ++i) {
                const int c = lane + 32 * i;
                if (c >= d) break;
                float sv = 0.0f, sk = 0.0f;
                for (int r = 0; r < B_BQ; ++r) {
                    sv = fmaf(Ps[warp * B_BQ + r], dOs[r * dp + c], sv);
                    sk = fmaf(DSs[j * B_BQ + r], Qs[r * dp + c], sk);
                }
                dv_acc[jj][i] += sv;
                dk_acc[jj][i] += sk;
            }
            __syncwarp(); // Ps is rewritten for the next key
        }
        __syncthreads();
        // dQ[i][c] += scale * sum over this tile's keys of dS[j][i] K[j][c].
        for (int e = tid; e < B_BQ * d; e += B_WARPS * 32) {
            const int r = e / d, c = e % d;
            if (qt + r >= a.sq) continue;
            float s = 0.0f;
#pragma unroll
            for (int j = 0; j < B_BKV; ++j) s = fmaf(DSs[j * B_BQ + r], Ks[j * dp + c], s);
            if (s != 0.0f) atomicAdd(&dq[(bh * a.sq + qt + r) * d + c], s * a.scale);
        }
    }
#pragma unroll
    for (int jj = 0; jj < B_KEYS; ++jj) {
        const int64_t key = kv0 + warp * B_KEYS + jj;
        if (key >= a.sk) continue;
#pragma unroll
        for (int i = 0; i < NDIM; ++i) {
            const int c = lane + 32 * i;
            if (c >= d) break;
            dk[(bh * a.sk + key) * d + c] = dk_acc[jj][i] * a.scale;
            dv[(bh * a.sk + key) * d + c] = dv_acc[jj][i];
        }
    }
}

int check(const dkc_attention_desc *desc, Attn &a, const char *op) {
    DKC_NOT_NULL(desc);
    DKC_REQUIRE(desc->batch >= 1 && desc->heads >= 1, "%s: batch, heads (%lld, %lld) must be >= 1", op,
                (long long)desc->batch, (long long)desc->heads);
    DKC_REQUIRE(desc->batch * desc->heads <= 65535, "%s: batch * heads (%lld) must be <= 65535", op,
                (long long)(desc->batch * desc->heads));
    DKC_REQUIRE(desc->seq_q >= 1 && desc->seq_k >= 1, "%s: seq_q, seq_k (%lld, %lld) must be >= 1", op,
                (long long)desc->seq_q, (long long)desc->seq_k);
    DKC_REQUIRE(desc->seq_q < (int64_t(1) << 35) && desc->seq_k < (int64_t(1) << 35), "%s: sequences are too long", op);
    DKC_REQUIRE(desc->head_dim >= 1 && desc->head_dim <= DMAX, "%s: head_dim (%d) must be in [1, %d]", op,
                desc->head_dim, DMAX);
    DKC_REQUIRE(desc->causal == 0 || desc->causal == 1, "%s: causal (%d) must be 0 or 1", op, desc->causal);
    DKC_REQUIRE(std::isfinite(desc->scale) && desc->scale > 0.0f, "%s: scale (%g) must be finite and > 0", op,
                desc->scale);
    const int64_t kv_heads = desc->kv_heads ? desc->kv_heads : desc->heads;
    DKC_REQUIRE(kv_heads >= 1 && desc->heads % kv_heads == 0, "%s: kv_heads (%lld) must divide heads (%lld)", op,
                (long long)kv_heads, (long long)desc->heads);
    DKC_REQUIRE(desc->causal_top_left == 0 || desc->causal_top_left == 1, "%s: causal_top_left (%d) must be 0 or 1",
                op, desc->causal_top_left);
    a = {desc->batch * desc->heads, desc->seq_q, desc->seq_k, desc->head_dim, desc->causal, desc->scale, desc->heads,
         desc->heads / kv_heads, desc->causal_top_left ? 0 : desc->seq_k - desc->seq_q, desc->key_lens};
    return DK_OK;
}

} // namespace

extern "C" int dkc_attention_forward(const dkc_attention_desc *desc, float *o, float *lse, const float *q,
                                     const float *k, const float *v, dkc_stream stream) {
    Attn a{};
    if (int s = check(desc, a, "attention_forward")) return s;
    DKC_NOT_NULL(o);
    DKC_NOT_NULL(lse);
    DKC_NOT_NULL(q);
    DKC_NOT_NULL(k);
    DKC_NOT_NULL(v);
    const dim3 grid(dkc::blocks_for(a.sq, F_BQ), static_cast<unsigned>(a.bh));
    DK_LAUNCH(flash_attention_forward_kernel, grid, dim3(F_WARPS * 32), 0, static_cast<cudaStream_t>(stream), a, o,
              lse, q, k, v);
    return dkc::launched("flash_attention_forward_kernel");
}

extern "C" int dkc_attention_backward(const dkc_attention_desc *desc, float *dq, float *dk, float *dv,
                                      const float *dout, const float *q, const float *k, const float *v,
                                      const float *o, const float *lse, dkc_stream stream) {
    Attn a{};
    if (int s = check(desc, a, "attention_backward")) return s;
    DKC_NOT_NULL(dq);
    DKC_NOT_NULL(dk);
    DKC_NOT_NULL(dv);
    DKC_NOT_NULL(dout);
    DKC_NOT_NULL(q);
    DKC_NOT_NULL(k);
    DKC_NOT_NULL(v);
    DKC_NOT_NULL(o);
    DKC_NOT_NULL(lse);
    const auto s = static_cast<cudaStream_t>(stream);
    const int64_t rows = a.bh * a.sq;
    float *dvec = nullptr;
    if (int st = dkc_malloc(reinterpret_cast<void **>(&dvec), rows * int64_t(sizeof(float)))) return st;
    int st = dkc::cuda_status(cudaMemsetAsync(dq, 0, static_cast<size_t>(rows * a.d) * sizeof(float), s),
                              "cudaMemsetAsync(dq)");
    if (st == DK_OK) {
        DK_LAUNCH(attention_backward_dot_kernel, dim3(dkc::blocks_for(rows, 8)), dim3(256), 0, s, dvec, dout, o, rows,
                  a.d);
        st = dkc::launched("attention_backward_dot_kernel");
    }
    // Grouped-query attention: the kernel writes dK and dV per q head into scratch, summed over
    // each group below (deterministic, no atomics).
    float *dk_q = dk, *dv_q = dv;
    const int64_t kv_rows = a.bh * a.sk * a.d;
    if (st == DK_OK && a.group > 1) {
        st = dkc_malloc(reinterpret_cast<void **>(&dk_q), 2 * kv_rows * int64_t(sizeof(float)));
        dv_q = dk_q + kv_rows;
    }
    if (st == DK_OK) {
        const size_t smem = backward_smem_bytes(a.d);
        st = dkc::cuda_status(cudaFuncSetAttribute(flash_attention_backward_kernel,
                                                   cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)),
                              "cudaFuncSetAttribute(flash_attention_backward_kernel)");
        if (st == DK_OK) {
            const dim3 grid(dkc::blocks_for(a.sk, B_BKV), static_cast<unsigned>(a.bh));
            DK_LAUNCH(flash_attention_backward_kernel, grid, dim3(B_WARPS * 32), smem, s, a, dq, dk_q, dv_q, dout, q, k,
                      v, lse, dvec);
            st = dkc::launched("flash_attention_backward_kernel");
        }
    }
    if (st == DK_OK && a.group > 1) { // dk[b, g] = sum over the group's q heads h of dk_q[b, h]
        const int64_t per_head = a.sk * a.d;
        dk_nd_desc r{};
        r.rank = 3;
        r.shape[0] = a.bh / a.group, r.shape[1] = a.group, r.shape[2] = per_head;
        r.out_strides[0] = per_head, r.out_strides[1] = 0, r.out_strides[2] = 1;
        r.a_strides[0] = a.group * per_head, r.a_strides[1] = per_head, r.a_strides[2] = 1;
        st = dkc_reduce_sum(&r, 1.0f, 0.0f, dk, dk_q, stream);
        if (st == DK_OK) st = dkc_reduce_sum(&r, 1.0f, 0.0f, dv, dv_q, stream);
    }
    // The scratch goes back to the cache; with the caching allocator its reuse is ordered after
    // this stream's kernels only if the next user is on the same stream: synchronize first.
    if (st == DK_OK) st = dkc::cuda_status(cudaStreamSynchronize(s), "attention_backward");
    dkc_free(dvec);
    if (dk_q != dk) dkc_free(dk_q);
    return st;
}

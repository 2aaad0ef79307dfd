// GEMM: C = act(alpha * op(A) op(B) + beta * C + bias), row-major with leading dimensions.
//
// Two kernels, then the launchers:
// - sgemm_simt_64x64: fp32 products. A 64 x 64 block tile in 256 threads, each 4 x 4 outputs at a
//   stride of 16 rows / columns (so shared-memory reads are broadcasts or consecutive words and the
//   stores to C are coalesced), K in slices of 16.
// - gemm_mma<MATH, BM, BN, WM, WN>: tensor cores through mma.h. A BM x BN block tile in WM x WN
//   warps, each warp a (BM / WM) x (BN / WN) tile of m16n8 mma tiles; K in slices of 16 (two k8
//   steps in TF32, one k16 step in BF16). Tiles are staged in shared memory as fp32 and rounded to
//   TF32 / BF16 when the fragments are loaded; the row padding (+4 for A, +8 for B) makes the TF32
//   fragment loads conflict-free (the BF16 pair loads are 2-way).
//   The next K slice is prefetched into registers while the current one is multiplied.
//   Napkin math on an A100 (BM = BN = 128): per 16-deep slice a block moves 16 KiB through shared
//   memory for 2 * 128 * 128 * 16 = 524k flops; 32 flop/byte keeps the tensor cores fed only with
//   more blocks per SM or a deeper pipeline: cp.async multi-stage loads and ldmatrix are the next
//   steps toward cuBLAS (not done here).
// Global loads follow the contiguous dimension of each operand (transposed or not), tails are
// zero-filled, and every thread computes its indices in 64 bits.
#include "activation.cuh"
#include "dk_cuda_rt.h"
#include "mma.h"

namespace {

__device__ __forceinline__ int64_t op_at(bool trans, int64_t i, int64_t j, int64_t ld) {
    return trans ? j * ld + i : i * ld + j;
}

// The epilogue of every kernel: alpha, beta (C read only when beta != 0), bias, activation.
__device__ __forceinline__ void store_c(const dk_matmul_desc &d, float *c, const float *bias, int act, int64_t row,
                                        int64_t col, float acc) {
    if (row >= d.m || col >= d.n) return;
    float *out = c + row * d.ldc + col;
    float v = d.alpha * acc;
    if (d.beta != 0.0f) v += d.beta * *out;
    if (bias) v += bias[col];
    *out = dk_act_forward(act, v);
}

constexpr int SIMT_TILE = 64, SIMT_BK = 16, SIMT_THREADS = 256;

__global__ __launch_bounds__(SIMT_THREADS) void sgemm_simt_64x64(const dk_matmul_desc d, int act, float *c,
                                                                  const float *a, const float *b, const float *bias) {
    DK_SHARED(float, As, [SIMT_BK][SIMT_TILE + 1]); // As[k][m]: op(A) transposed
    DK_SHARED(float, Bs, [SIMT_BK][SIMT_TILE + 4]); // Bs[k][n]
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int64_t bm = static_cast<int64_t>(blockIdx.y) * SIMT_TILE, bn = static_cast<int64_t>(blockIdx.x) * SIMT_TILE;
    const bool ta = d.trans_a, tb = d.trans_b;
    float acc[4][4] = {};
    for (int64_t k0 = 0; k0 < d.k; k0 += SIMT_BK) {
        for (int e = tid; e < SIMT_TILE * SIMT_BK; e += SIMT_THREADS) {
            const int r = ta ? e % SIMT_TILE : e / SIMT_BK, kk = ta ? e / SIMT_TILE : e % SIMT_BK;
            const int64_t gr = bm + r, gk = k0 + kk;
            As[kk][r] = gr < d.m && gk < d.k ? a[op_at(ta, gr, gk, d.lda)] : 0.0f;
        }
        for (int e = tid; e < SIMT_TILE * SIMT_BK; e += SIMT_THREADS) {
            const int col = tb ? e / SIMT_BK : e % SIMT_TILE, kk = tb ? e % SIMT_BK : e / SIMT_TILE;
            const int64_t gk = k0 + kk, gc = bn + col;
            Bs[kk][col] = gk < d.k && gc < d.n ? b[op_at(tb, gk, gc, d.ldb)] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < SIMT_BK; ++kk) {
            float av[4], bv[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) av[i] = As[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) store_c(d, c, bias, act, bm + ty + 16 * i, bn + tx + 16 * j, acc[i][j]);
}

template <int MATH, int BM, int BN, int WM, int WN>
__global__ __launch_bounds__(WM *WN * 32, 1) void gemm_mma(const dk_matmul_desc d, int act, float *c, const float *a,
                                                        const float *b, const float *bias) {
    constexpr int BK = 16, NT = WM * WN * 32, TM = BM / WM, TN = BN / WN, MI = TM / 16, NI = TN / 8;
    static_assert(TM % 16 == 0 && TN % 8 == 0, "warp tile must be a multiple of 16 x 8");
    DK_SHARED(float, As, [BM][BK + 4]); // As[m][k]
    DK_SHARED(float, Bs, [BK][BN + 8]); // Bs[k][n]
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
    const int wm = warp / WN, wn = warp % WN;
    const int64_t bm = static_cast<int64_t>(blockIdx.y) * BM, bn = static_cast<int64_t>(blockIdx.x) * BN;
    const bool ta = d.trans_a, tb = d.trans_b;
    float acc[MI][NI][4] = {};
    // The next K slice is loaded from global memory into registers while the tensor cores work on
    // the current one in shared memory (register double buffering: the load latency overlaps the
    // mma instead of stalling the whole block at the barrier).
    constexpr int A_PER = BM * BK / NT, B_PER = BN * BK / NT;
    static_assert(BM * BK % NT == 0 && BN * BK % NT == 0, "tiles must divide among the threads");
    float ra[A_PER], rb[B_PER];
    auto load = [&](int64_t k0) {
#pragma unroll
        for (int i = 0; i < A_PER; ++i) {
            const int e = tid + i * NT, r = ta ? e % BM : e / BK, kk = ta ? e / BM : e % BK;
            const int64_t gr = bm + r, gk = k0 + kk;
            ra[i] = gr < d.m && gk < d.k ? a[op_at(ta, gr, gk, d.lda)] : 0.0f;
        }
#pragma unroll
        for (int i = 0; i < B_PER; ++i) {
            const int e = tid + i * NT, col = tb ? e / BK : e % BN, kk = tb ? e % BK : e / BN;
            const int64_t gk = k0 + kk, gc = bn + col;
            rb[i] = gk < d.k && gc < d.n ? b[op_at(tb, gk, gc, d.ldb)] : 0.0f;
        }
    };
    auto store = [&] {
#pragma unroll
        for (int i = 0; i < A_PER; ++i) {
            const int e = tid + i * NT, r = ta ? e % BM : e / BK, kk = ta ? e / BM : e % BK;
            As[r][kk] = ra[i];
        }
#pragma unroll
        for (int i = 0; i < B_PER; ++i) {
            const int e = tid + i * NT, col = tb ? e / BK : e % BN, kk = tb ? e % BK : e / BN;
            Bs[kk][col] = rb[i];
        }
    };
    if (d.k > 0) {
        load(0);
        store();
    }
    __syncthreads();
    for (int64_t k0 = 0; k0 < d.k; k0 += BK) {
        const bool more = k0 + BK < d.k;
        if (more) load(k0 + BK);
        if constexpr (MATH == DKC_MATH_TF32) {
#pragma unroll
            for (int ks = 0; ks < BK; ks += 8) {
                uint32_t af[MI][4], bf[NI][2];
#pragma unroll
                for (int mi = 0; mi < MI; ++mi) {
                    const int r = wm * TM + mi * 16 + g;
                    af[mi][0] = dk_to_tf32(As[r][ks + t]);
                    af[mi][1] = dk_to_tf32(As[r + 8][ks + t]);
                    af[mi][2] = dk_to_tf32(As[r][ks + t + 4]);
                    af[mi][3] = dk_to_tf32(As[r + 8][ks + t + 4]);
                }
#pragma unroll
                for (int ni = 0; ni < NI; ++ni) {
                    const int col = wn * TN + ni * 8 + g;
                    bf[ni][0] = dk_to_tf32(Bs[ks + t][col]);
                    bf[ni][1] = dk_to_tf32(Bs[ks + t + 4][col]);
                }
#pragma unroll
                for (int mi = 0; mi < MI; ++mi)
#pragma unroll
                    for (int ni = 0; ni < NI; ++ni) dk_mma_tf32_16x8x8(acc[mi][ni], af[mi], bf[ni]);
            }
        } else {
            uint32_t af[MI][4], bf[NI][2];
#pragma unroll
            for (int mi = 0; mi < MI; ++mi) {
                const int r = wm * TM + mi * 16 + g;
                af[mi][0] = dk_pack_bf16x2(As[r][2 * t], As[r][2 * t + 1]);
                af[mi][1] = dk_pack_bf16x2(As[r + 8][2 * t], As[r + 8][2 * t + 1]);
                af[mi][2] = dk_pack_bf16x2(As[r][2 * t + 8], As[r][2 * t + 9]);
                af[mi][3] = dk_pack_bf16x2(As[r + 8][2 * t + 8], As[r + 8][2 * t + 9]);
            }
#pragma unroll
            for (int ni = 0; ni < NI; ++ni) {
                const int col = wn * TN + ni * 8 + g;
                bf[ni][0] = dk_pack_bf16x2(Bs[2 * t][col], Bs[2 * t + 1][col]);
                bf[ni][1] = dk_pack_bf16x2(Bs[2 * t + 8][col], Bs[2 * t + 9][col]);
            }
#pragma unroll
            for (int mi = 0; mi < MI; ++mi)
#pragma unroll
                for (int ni = 0; ni < NI; ++ni) dk_mma_bf16_16x8x16(acc[mi][ni], af[mi], bf[ni]);
        }
        __syncthreads(); // every warp is done with this slice
        if (more) {
            store();
            __syncthreads();
        }
    }
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < NI; ++ni)
#pragma unroll
            for (int i = 0; i < 4; ++i)
                store_c(d, c, bias, act, bm + wm * TM + mi * 16 + g + (i >= 2 ? 8 : 0),
                        bn + wn * TN + ni * 8 + 2 * t + (i & 1), acc[mi][ni][i]);
}

template <int MATH, int BM, int BN, int WM, int WN>
int launch_mma(const dk_matmul_desc &d, int act, float *c, const float *a, const float *b, const float *bias,
               cudaStream_t s) {
    const dim3 grid(dkc::blocks_for(d.n, BN), dkc::blocks_for(d.m, BM));
    if (grid.y > 65535) return dkc::fail(DK_UNSUPPORTED, "gemm: m (%lld) needs more than 65535 row tiles", (long long)d.m);
    constexpr auto kernel = gemm_mma<MATH, BM, BN, WM, WN>;
    DK_LAUNCH(kernel, grid, dim3(WM * WN * 32), 0, s, d, act, c, a, b, bias);
    return dkc::launched("gemm_mma");
}

} // namespace

extern "C" int dkc_gemm(const dk_matmul_desc *d, int32_t math, int32_t act, float *c, const float *a,
                        const float *b, const float *bias, dkc_stream stream) {
    DKC_NOT_NULL(d);
    // k = 0 (or alpha = 0) is C = act(beta * C + bias): the main loop runs zero times.
    DKC_REQUIRE(d->m >= 1 && d->n >= 1 && d->k >= 0, "gemm: m, n (%lld, %lld) must be >= 1 and k (%lld) >= 0",
                (long long)d->m, (long long)d->n, (long long)d->k);
    DKC_REQUIRE(d->lda >= (d->trans_a ? d->m : d->k), "gemm: lda (%lld) must be >= %lld, the row length of a as stored",
                (long long)d->lda, (long long)(d->trans_a ? d->m : d->k));
    DKC_REQUIRE(d->ldb >= (d->trans_b ? d->k : d->n), "gemm: ldb (%lld) must be >= %lld, the row length of b as stored",
                (long long)d->ldb, (long long)(d->trans_b ? d->k : d->n));
    DKC_REQUIRE(d->ldc >= d->n, "gemm: ldc (%lld) must be >= n (%lld)", (long long)d->ldc, (long long)d->n);
    DKC_REQUIRE(math >= DKC_MATH_FP32 && math <= DKC_MATH_BF16, "gemm: math (%d) must be FP32, TF32 or BF16", math);
    DKC_REQUIRE(act >= DKC_ACT_NONE && act <= DKC_ACT_TANH, "gemm: act (%d) is not a dkc_act", act);
    DKC_NOT_NULL(c);
    if (d->k > 0) { // a and b are not read when k = 0
        DKC_NOT_NULL(a);
        DKC_NOT_NULL(b);
    }
    const auto s = static_cast<cudaStream_t>(stream);
    if (math == DKC_MATH_FP32) {
        const dim3 grid(dkc::blocks_for(d->n, SIMT_TILE), dkc::blocks_for(d->m, SIMT_TILE));
        if (grid.y > 65535)
            return dkc::fail(DK_UNSUPPORTED, "gemm: m (%lld) needs more than 65535 row tiles", (long long)d->m);
        DK_LAUNCH(sgemm_simt_64x64, grid, dim3(SIMT_THREADS), 0, s, *d, act, c, a, b, bias);
        return dkc::launched("sgemm_simt_64x64");
    }
    // 128 x 128 tiles in 8 warps for large products, 64 x 64 in 4 warps for small ones, where
    // 128 x 128 tiles would leave most of the GPU idle or mostly pad.
    const bool large = d->m >= 256 && d->n >= 256;
    if (math == DKC_MATH_TF32)
        return large ? launch_mma<DKC_MATH_TF32, 128, 128, 2, 4>(*d, act, c, a, b, bias, s)
                     : launch_mma<DKC_MATH_TF32, 64, 64, 2, 2>(*d, act, c, a, b, bias, s);
    return large ? launch_mma<DKC_MATH_BF16, 128, 128, 2, 4>(*d, act, c, a, b, bias, s)
                 : launch_mma<DKC_MATH_BF16, 64, 64, 2, 2>(*d, act, c, a, b, bias, s);
}

extern "C" int dkc_matmul(const dk_matmul_desc *d, float *c, const float *a, const float *b, char *msg, int msg_len) {
    int status = dkc_gemm(d, DKC_MATH_FP32, DKC_ACT_NONE, c, a, b, nullptr, nullptr);
    if (status == DK_OK) status = dkc::cuda_status(cudaDeviceSynchronize(), "sgemm_simt_64x64");
    if (status != DK_OK) std::snprintf(msg, msg_len, "%s", dkc_last_error());
    return status;
}

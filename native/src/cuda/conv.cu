// Convolution as implicit GEMM: the three passes are GEMMs whose operands are gathered from the
// NCHW tensors on the fly (no im2col buffer), tiled like sgemm_simt_64x64 (64 x 64 outputs per
// 256-thread block, 4 x 4 per thread, K in slices of 16 through shared memory).
//   forward:          y[k][(n,p,q)]  = sum over (c,r,s) of w[k][(c,r,s)] * x(n, c, p*sh - ph + r*dh, q*sw - pw + s*dw)
//   backward data:    dx[c][(n,h,w)] = sum over (k,r,s) of w[k][c][r][s] * dy(n, k, p, q) where p*sh = h + ph - r*dh
//   backward weights: dw[k][(c,r,s)] = sum over (n,p,q) of dy[n][k][p][q] * x(n, c, p*sh - ph + r*dh, ...)
// Out-of-range (padding) and, for strided backward data, non-integral positions read as zero.
// The loaders put consecutive threads on the operand's contiguous index (q or w), so warps read
// runs of x, dy and w. Backward data for stride > 1 wastes the zero taps (a stride-phase
// decomposition would avoid them); fp32 only (the tensor-core path is the GEMM's, not yet here).
#include "dk_cuda_rt.h"
#include "reduce.cuh"

namespace {

enum Mode { FWD = 0, BWD_DATA = 1, BWD_WEIGHTS = 2 };

// Every extent and GEMM dimension fits 31 bits (checked by the launchers), so the index
// arithmetic is 32-bit (64-bit division is a slow subroutine call on the GPU); only the final
// element offsets are 64-bit.
struct ConvGeom {
    int n, c, h, w, k, p, q;
    int r, s, sh, sw, ph, pw, dh, dw;
    int gm, gn, gk; // the GEMM's M, N, K
};

constexpr int TILE = 64, BK = 16, THREADS = 256;

__device__ __forceinline__ float x_at(const ConvGeom &g, const float *x, int n, int c, int ih, int iw) {
    return ih >= 0 && ih < g.h && iw >= 0 && iw < g.w ? x[((int64_t(n) * g.c + c) * g.h + ih) * g.w + iw] : 0.0f;
}

template <int MODE>
__device__ __forceinline__ float load_a(const ConvGeom &g, const float *a, int m, int kd) {
    if (MODE == FWD) return a[int64_t(m) * g.gk + kd]; // w[k][(c,r,s)]
    if (MODE == BWD_DATA) {                             // w[k][c=m][r][s], kd = (k, r, s)
        const int rs = g.r * g.s, k = kd / rs, t = kd - k * rs;
        return a[(int64_t(k) * g.c + m) * rs + t];
    }
    const int pq = g.p * g.q, n = kd / pq, t = kd - n * pq; // dy[n][k=m][p][q], kd = (n, p, q)
    return a[(int64_t(n) * g.k + m) * pq + t];
}

template <int MODE>
__device__ __forceinline__ float load_b(const ConvGeom &g, const float *b, int kd, int col) {
    if (MODE == FWD) { // x, kd = (c, r, s), col = (n, p, q)
        const int pq = g.p * g.q, n = col / pq, t = col - n * pq, p = t / g.q, q = t - p * g.q;
        const int rs = g.r * g.s, c = kd / rs, u = kd - c * rs, r = u / g.s, s = u - r * g.s;
        return x_at(g, b, n, c, p * g.sh - g.ph + r * g.dh, q * g.sw - g.pw + s * g.dw);
    }
    if (MODE == BWD_DATA) { // dy, kd = (k, r, s), col = (n, h, w)
        const int hw = g.h * g.w, n = col / hw, t = col - n * hw, ih = t / g.w, iw = t - ih * g.w;
        const int rs = g.r * g.s, k = kd / rs, u = kd - k * rs, r = u / g.s, s = u - r * g.s;
        const int ph = ih + g.ph - r * g.dh, pw = iw + g.pw - s * g.dw;
        if (ph < 0 || pw < 0 || ph % g.sh || pw % g.sw) return 0.0f;
        const int p = ph / g.sh, q = pw / g.sw;
        return p < g.p && q < g.q ? b[((int64_t(n) * g.k + k) * g.p + p) * g.q + q] : 0.0f;
    }
    // x, kd = (n, p, q), col = (c, r, s)
    const int pq = g.p * g.q, n = kd / pq, t = kd - n * pq, p = t / g.q, q = t - p * g.q;
    const int rs = g.r * g.s, c = col / rs, u = col - c * rs, r = u / g.s, s = u - r * g.s;
    return x_at(g, b, n, c, p * g.sh - g.ph + r * g.dh, q * g.sw - g.pw + s * g.dw);
}

template <int MODE>
__device__ __forceinline__ void store_c(const ConvGeom &g, float *out, const float *bias, int m, int col, float v) {
    if (m >= g.gm || col >= g.gn) return;
    if (MODE == FWD) {
        const int pq = g.p * g.q, n = col / pq, t = col - n * pq;
        out[(int64_t(n) * g.k + m) * pq + t] = v + (bias ? bias[m] : 0.0f);
    } else if (MODE == BWD_DATA) {
        const int hw = g.h * g.w, n = col / hw, t = col - n * hw;
        out[(int64_t(n) * g.c + m) * hw + t] = v;
    } else {
        out[int64_t(m) * g.gn + col] = v;
    }
}

template <int MODE>
__global__ __launch_bounds__(THREADS) void conv_implicit_gemm_64x64(const ConvGeom g, float *out, const float *a,
                                                                    const float *b, const float *bias) {
    DK_SHARED(float, As, [BK][TILE + 1]);
    DK_SHARED(float, Bs, [BK][TILE + 4]);
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int bm = blockIdx.y * TILE, bn = blockIdx.x * TILE;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < g.gk; k0 += BK) {
        for (int e = tid; e < TILE * BK; e += THREADS) { // consecutive threads on consecutive kd
            const int r = e / BK, kk = e % BK;
            const int gr = bm + r, gk = k0 + kk;
            As[kk][r] = gr < g.gm && gk < g.gk ? load_a<MODE>(g, a, gr, gk) : 0.0f;
        }
        for (int e = tid; e < TILE * BK; e += THREADS) {
            // Forward and backward data: consecutive threads on consecutive columns (q / w);
            // backward weights: on consecutive kd (q).
            const int col = MODE == BWD_WEIGHTS ? e / BK : e % TILE, kk = MODE == BWD_WEIGHTS ? e % BK : e / TILE;
            const int gk = k0 + kk, gc = bn + col;
            Bs[kk][col] = gk < g.gk && gc < g.gn ? load_b<MODE>(g, b, gk, gc) : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
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
        for (int j = 0; j < 4; ++j) store_c<MODE>(g, out, bias, bm + ty + 16 * i, bn + tx + 16 * j, acc[i][j]);
}

// dbias[k] = sum of dy over n, p, q: one block per output channel.
__global__ __launch_bounds__(THREADS) void conv_bias_grad_kernel(float *dbias, const float *dy, int n, int k, int pq) {
    float s = 0.0f;
    for (int b = 0; b < n; ++b)
        for (int i = threadIdx.x; i < pq; i += THREADS) s += dy[(int64_t(b) * k + blockIdx.x) * pq + i];
    s = dk_block_sum(s);
    if (threadIdx.x == 0) dbias[blockIdx.x] = s;
}

int geometry(const dkc_conv_desc *d, ConvGeom &g, const char *op) {
    DKC_NOT_NULL(d);
    DKC_REQUIRE(d->n >= 1 && d->c >= 1 && d->h >= 1 && d->w >= 1 && d->k >= 1,
                "%s: n, c, h, w, k (%lld, %lld, %lld, %lld, %lld) must be >= 1", op, (long long)d->n, (long long)d->c,
                (long long)d->h, (long long)d->w, (long long)d->k);
    DKC_REQUIRE(d->r >= 1 && d->s >= 1, "%s: r, s (%d, %d) must be >= 1", op, d->r, d->s);
    DKC_REQUIRE(d->stride_h >= 1 && d->stride_w >= 1, "%s: stride_h, stride_w (%d, %d) must be >= 1", op, d->stride_h,
                d->stride_w);
    DKC_REQUIRE(d->dil_h >= 1 && d->dil_w >= 1, "%s: dil_h, dil_w (%d, %d) must be >= 1", op, d->dil_h, d->dil_w);
    DKC_REQUIRE(d->pad_h >= 0 && d->pad_w >= 0, "%s: pad_h, pad_w (%d, %d) must be >= 0", op, d->pad_h, d->pad_w);
    const int64_t eff_r = int64_t(d->dil_h) * (d->r - 1) + 1, eff_s = int64_t(d->dil_w) * (d->s - 1) + 1;
    DKC_REQUIRE(d->h + 2 * d->pad_h >= eff_r && d->w + 2 * d->pad_w >= eff_s,
                "%s: the dilated filter (%lld x %lld) is larger than the padded input (%lld x %lld)", op,
                (long long)eff_r, (long long)eff_s, (long long)(d->h + 2 * d->pad_h), (long long)(d->w + 2 * d->pad_w));
    const int64_t p = (d->h + 2 * d->pad_h - eff_r) / d->stride_h + 1, q = (d->w + 2 * d->pad_w - eff_s) / d->stride_w + 1;
    const int64_t lim = 0x7fffffff;
    const int64_t crs = d->c * d->r * d->s, krs = d->k * d->r * d->s, npq = d->n * p * q, nhw = d->n * d->h * d->w;
    DKC_REQUIRE(crs < lim && krs < lim && npq < lim && nhw < lim,
                "%s: c*r*s (%lld), k*r*s (%lld), n*p*q (%lld) and n*h*w (%lld) must be below 2^31", op, (long long)crs,
                (long long)krs, (long long)npq, (long long)nhw);
    g = {int(d->n), int(d->c), int(d->h), int(d->w), int(d->k), int(p), int(q), d->r, d->s, d->stride_h, d->stride_w,
         d->pad_h, d->pad_w, d->dil_h, d->dil_w, 0, 0, 0};
    return DK_OK;
}

template <int MODE>
int launch(ConvGeom g, float *out, const float *a, const float *b, const float *bias, cudaStream_t s,
           const char *name) {
    const dim3 grid(dkc::blocks_for(g.gn, TILE), dkc::blocks_for(g.gm, TILE));
    if (grid.y > 65535)
        return dkc::fail(DK_UNSUPPORTED, "%s: the implicit GEMM (%lld x %lld) is too large for one launch", name,
                         (long long)g.gm, (long long)g.gn);
    constexpr auto kernel = conv_implicit_gemm_64x64<MODE>;
    DK_LAUNCH(kernel, grid, dim3(THREADS), 0, s, g, out, a, b, bias);
    return dkc::launched(name);
}

} // namespace

extern "C" int dkc_conv_forward(const dkc_conv_desc *d, float *y, const float *x, const float *w, const float *bias,
                                dkc_stream stream) {
    ConvGeom g{};
    if (int st = geometry(d, g, "conv_forward")) return st;
    DKC_NOT_NULL(y);
    DKC_NOT_NULL(x);
    DKC_NOT_NULL(w);
    g.gm = g.k, g.gn = g.n * g.p * g.q, g.gk = g.c * g.r * g.s; // < 2^31: checked by geometry()
    return launch<FWD>(g, y, w, x, bias, static_cast<cudaStream_t>(stream), "conv_forward");
}

extern "C" int dkc_conv_backward_data(const dkc_conv_desc *d, float *dx, const float *dy, const float *w,
                                      dkc_stream stream) {
    ConvGeom g{};
    if (int st = geometry(d, g, "conv_backward_data")) return st;
    DKC_NOT_NULL(dx);
    DKC_NOT_NULL(dy);
    DKC_NOT_NULL(w);
    g.gm = g.c, g.gn = g.n * g.h * g.w, g.gk = g.k * g.r * g.s;
    return launch<BWD_DATA>(g, dx, w, dy, nullptr, static_cast<cudaStream_t>(stream), "conv_backward_data");
}

extern "C" int dkc_conv_backward_weights(const dkc_conv_desc *d, float *dw, float *dbias, const float *dy,
                                         const float *x, dkc_stream stream) {
    ConvGeom g{};
    if (int st = geometry(d, g, "conv_backward_weights")) return st;
    DKC_NOT_NULL(dw);
    DKC_NOT_NULL(dy);
    DKC_NOT_NULL(x);
    g.gm = g.k, g.gn = g.c * g.r * g.s, g.gk = g.n * g.p * g.q;
    const auto s = static_cast<cudaStream_t>(stream);
    if (int st = launch<BWD_WEIGHTS>(g, dw, dy, x, nullptr, s, "conv_backward_weights")) return st;
    if (!dbias) return DK_OK;
    DK_LAUNCH(conv_bias_grad_kernel, dim3(static_cast<unsigned>(g.k)), dim3(THREADS), 0, s, dbias, dy, g.n, g.k,
              g.p * g.q);
    return dkc::launched("conv_bias_grad_kernel");
}

// 2-D max and average pooling over NCHW, forward and backward. One thread per output element
// (forward) or input element (backward), consecutive threads on consecutive w: coalesced.
// The backward passes gather instead of scattering: each input element sums the outputs whose
// window covers it (for max pooling, those whose argmax it is), so no atomics, no zero-fill
// pass, and a deterministic result.
#include "dk_cuda_rt.h"

#include <math.h>

namespace {

constexpr int THREADS = 256;

// Planes (n * c) may be many; within a plane, h * w and oh * ow fit 32 bits (checked), so the
// index arithmetic is one 64-bit division per element and the rest 32-bit.
struct Geometry {
    int64_t n, c;
    int h, w, oh, ow;
    int kh, kw, sh, sw, ph, pw;
};

__global__ __launch_bounds__(THREADS) void maxpool_forward_kernel(const Geometry g, float *y, int32_t *argmax,
                                                                   const float *x) {
    const int64_t total = g.n * g.c * g.oh * g.ow;
    for (int64_t o = static_cast<int64_t>(blockIdx.x) * THREADS + threadIdx.x; o < total;
         o += static_cast<int64_t>(gridDim.x) * THREADS) {
        const int64_t nc = o / (g.ow * g.oh);
        const int r = static_cast<int>(o - nc * g.ow * g.oh), oy = r / g.ow, ox = r % g.ow;
        const float *xc = x + nc * g.h * g.w;
        float best = -INFINITY;
        int32_t arg = -1;
        for (int i = 0; i < g.kh; ++i) {
            const int iy = oy * g.sh - g.ph + i;
            if (iy < 0 || iy >= g.h) continue;
            for (int j = 0; j < g.kw; ++j) {
                const int ix = ox * g.sw - g.pw + j;
                if (ix < 0 || ix >= g.w) continue;
                const float v = xc[iy * g.w + ix];
                if (v > best || arg < 0) best = v, arg = iy * g.w + ix;
            }
        }
        y[o] = best;
        argmax[o] = arg;
    }
}

__global__ __launch_bounds__(THREADS) void avgpool_forward_kernel(const Geometry g, float *y, const float *x) {
    const int64_t total = g.n * g.c * g.oh * g.ow;
    for (int64_t o = static_cast<int64_t>(blockIdx.x) * THREADS + threadIdx.x; o < total;
         o += static_cast<int64_t>(gridDim.x) * THREADS) {
        const int64_t nc = o / (g.ow * g.oh);
        const int r = static_cast<int>(o - nc * g.ow * g.oh), oy = r / g.ow, ox = r % g.ow;
        const float *xc = x + nc * g.h * g.w;
        float s = 0.0f;
        int count = 0;
        for (int i = 0; i < g.kh; ++i) {
            const int iy = oy * g.sh - g.ph + i;
            if (iy < 0 || iy >= g.h) continue;
            for (int j = 0; j < g.kw; ++j) {
                const int ix = ox * g.sw - g.pw + j;
                if (ix < 0 || ix >= g.w) continue;
                s += xc[iy * g.w + ix];
                ++count;
            }
        }
        y[o] = count ? s / static_cast<float>(count) : 0.0f;
    }
}

// The outputs whose window covers input coordinate i: oy * s - p + k = i for some k in [0, K).
__device__ __forceinline__ void covering(int i, int k, int s, int p, int out, int &lo, int &hi) {
    const int a = i + p - (k - 1); // oy * s >= a
    lo = a <= 0 ? 0 : (a + s - 1) / s;
    hi = (i + p) / s; // oy * s <= i + p
    if (hi > out - 1) hi = out - 1;
}

template <bool MAX>
__global__ __launch_bounds__(THREADS) void pool_backward_kernel(const Geometry g, float *dx, const float *dy,
                                                                 const int32_t *argmax) {
    const int64_t total = g.n * g.c * g.h * g.w;
    for (int64_t e = static_cast<int64_t>(blockIdx.x) * THREADS + threadIdx.x; e < total;
         e += static_cast<int64_t>(gridDim.x) * THREADS) {
        const int64_t nc = e / (g.w * g.h);
        const int r = static_cast<int>(e - nc * g.w * g.h), iy = r / g.w, ix = r % g.w;
        int y0, y1, x0, x1;
        covering(iy, g.kh, g.sh, g.ph, g.oh, y0, y1);
        covering(ix, g.kw, g.sw, g.pw, g.ow, x0, x1);
        const int64_t base = nc * g.oh * g.ow;
        float s = 0.0f;
        for (int oy = y0; oy <= y1; ++oy)
            for (int ox = x0; ox <= x1; ++ox) {
                const int64_t o = base + oy * g.ow + ox;
                if (MAX) {
                    if (argmax[o] == r) s += dy[o];
                } else {
                    // The forward pass's count of in-bounds elements of this window.
                    const int ys = oy * g.sh - g.ph, xs = ox * g.sw - g.pw;
                    const int cy = (ys + g.kh < g.h ? ys + g.kh : g.h) - (ys > 0 ? ys : 0);
                    const int cx = (xs + g.kw < g.w ? xs + g.kw : g.w) - (xs > 0 ? xs : 0);
                    s += dy[o] / static_cast<float>(cy * cx);
                }
            }
        dx[e] = s;
    }
}

int geometry(const dkc_pool_desc *d, Geometry &g, const char *op) {
    DKC_NOT_NULL(d);
    DKC_REQUIRE(d->n >= 1 && d->c >= 1 && d->h >= 1 && d->w >= 1, "%s: n, c, h, w (%lld, %lld, %lld, %lld) must be >= 1",
                op, (long long)d->n, (long long)d->c, (long long)d->h, (long long)d->w);
    DKC_REQUIRE(d->kh >= 1 && d->kw >= 1, "%s: kh, kw (%d, %d) must be >= 1", op, d->kh, d->kw);
    DKC_REQUIRE(d->sh >= 1 && d->sw >= 1, "%s: sh, sw (%d, %d) must be >= 1", op, d->sh, d->sw);
    DKC_REQUIRE(d->ph >= 0 && d->pw >= 0 && d->ph < d->kh && d->pw < d->kw,
                "%s: ph, pw (%d, %d) must be >= 0 and smaller than the window", op, d->ph, d->pw);
    DKC_REQUIRE(d->h + 2 * d->ph >= d->kh && d->w + 2 * d->pw >= d->kw,
                "%s: the window (%d x %d) is larger than the padded input", op, d->kh, d->kw);
    DKC_REQUIRE(d->h <= 0x3fffffff && d->w <= 0x3fffffff && d->h * d->w <= 0x3fffffff,
                "%s: h * w (%lld) must be below 2^30 (the argmax is an int32 index within a plane)", op,
                (long long)(d->h * d->w));
    g = {d->n, d->c, static_cast<int>(d->h), static_cast<int>(d->w),
         static_cast<int>((d->h + 2 * d->ph - d->kh) / d->sh + 1), static_cast<int>((d->w + 2 * d->pw - d->kw) / d->sw + 1),
         d->kh, d->kw, d->sh, d->sw, d->ph, d->pw};
    return DK_OK;
}

unsigned grid_for(int64_t n) {
    const int64_t blocks = (n + THREADS - 1) / THREADS;
    return static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
}

} // namespace

extern "C" int dkc_maxpool_forward(const dkc_pool_desc *d, float *y, int32_t *argmax, const float *x,
                                   dkc_stream stream) {
    Geometry g{};
    if (int s = geometry(d, g, "maxpool")) return s;
    DKC_NOT_NULL(y);
    DKC_NOT_NULL(argmax);
    DKC_NOT_NULL(x);
    DK_LAUNCH(maxpool_forward_kernel, dim3(grid_for(g.n * g.c * g.oh * g.ow)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), g, y, argmax, x);
    return dkc::launched("maxpool_forward_kernel");
}

extern "C" int dkc_maxpool_backward(const dkc_pool_desc *d, float *dx, const float *dy, const int32_t *argmax,
                                    dkc_stream stream) {
    Geometry g{};
    if (int s = geometry(d, g, "maxpool_backward")) return s;
    DKC_NOT_NULL(dx);
    DKC_NOT_NULL(dy);
    DKC_NOT_NULL(argmax);
    constexpr auto kernel = pool_backward_kernel<true>;
    DK_LAUNCH(kernel, dim3(grid_for(g.n * g.c * g.h * g.w)), dim3(THREADS), 0, static_cast<cudaStream_t>(stream), g,
              dx, dy, argmax);
    return dkc::launched("maxpool_backward_kernel");
}

extern "C" int dkc_avgpool_forward(const dkc_pool_desc *d, float *y, const float *x, dkc_stream stream) {
    Geometry g{};
    if (int s = geometry(d, g, "avgpool")) return s;
    DKC_NOT_NULL(y);
    DKC_NOT_NULL(x);
    DK_LAUNCH(avgpool_forward_kernel, dim3(grid_for(g.n * g.c * g.oh * g.ow)), dim3(THREADS), 0,
              static_cast<cudaStream_t>(stream), g, y, x);
    return dkc::launched("avgpool_forward_kernel");
}

extern "C" int dkc_avgpool_backward(const dkc_pool_desc *d, float *dx, const float *dy, dkc_stream stream) {
    Geometry g{};
    if (int s = geometry(d, g, "avgpool_backward")) return s;
    DKC_NOT_NULL(dx);
    DKC_NOT_NULL(dy);
    constexpr auto kernel = pool_backward_kernel<false>;
    DK_LAUNCH(kernel, dim3(grid_for(g.n * g.c * g.h * g.w)), dim3(THREADS), 0, static_cast<cudaStream_t>(stream), g,
              dx, dy, nullptr);
    return dkc::launched("avgpool_backward_kernel");
}

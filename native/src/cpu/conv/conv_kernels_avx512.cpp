// The AVX-512 convolution microkernels (see conv_kernels.h for what they compute). Compiled with
// the avx512 flags only (dk_isa_sources); includes nothing but conv_kernels.h and the intrinsics
// header (native/KERNELS.md).
//
// Forward tile: M rows x V vectors of 16 flat positions = M * V zmm accumulators (12 x 2, 8 x 3
// or 6 x 4 = 24), V loads of the staged input and M broadcasts of weights per k step for M * V
// FMAs, the same load-to-FMA ratio as the GEMM's 12 x 32 microkernel. The weights are broadcast
// from the OIHW array where it is: row i of the panel is i * rs floats further, addressed as
// base + {0, 1, 2} * rs from a base pointer every third row so that the address arithmetic fits
// the x86 scaled-index forms (no weight reorder, no general-purpose register spills).
#include "conv_kernels.h"

#include <immintrin.h>

namespace dk::conv {

namespace {

inline __mmask16 first_lanes(int n) { return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1u); }

template <int M, int V>
void fwd_tile(const FwdTile &t) {
    __m512 acc[M][V];
#pragma GCC unroll 12
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) acc[i][v] = _mm512_setzero_ps();
    const int64_t rs = t.rs;
    const int ntaps = t.ntaps;
    for (int64_t ch = 0; ch < t.nc; ++ch) {
        const float *ac = t.a + ch * t.cs;
        const float *bc = t.b + ch * t.chs;
        for (int tap = 0; tap < ntaps; ++tap) {
            const float *ap = ac + t.woff[tap];
            const float *bp = bc + t.xoff[tap];
            __m512 xv[V];
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v) xv[v] = _mm512_loadu_ps(bp + 16 * v);
#pragma GCC unroll 12
            for (int i = 0; i < M; ++i) {
                const float *base = ap + (i / 3) * 3 * rs; // rows 3j .. 3j + 2 from one base
                const __m512 w = _mm512_set1_ps(base[(i % 3) * rs]);
#pragma GCC unroll 4
                for (int v = 0; v < V; ++v) acc[i][v] = _mm512_fmadd_ps(w, xv[v], acc[i][v]);
            }
        }
    }
    // store: compress each vector's valid lanes onto consecutive outputs
    const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int i = 0; i < M; ++i) {
        float *out = t.c + i * t.ldc;
        const __m512 b = t.first && t.bias ? _mm512_set1_ps(t.bias[i]) : zero;
        int64_t at = 0;
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) {
            const __mmask16 m = t.masks[v];
            if (!m) continue;
            __m512 r = acc[i][v];
            if (m == 0xffff) {
                if (t.first) r = _mm512_add_ps(r, b);
                else r = _mm512_add_ps(r, _mm512_loadu_ps(out + at));
                if (t.last && t.relu) r = _mm512_max_ps(r, zero);
                _mm512_storeu_ps(out + at, r);
                at += 16;
            } else {
                const int n = __builtin_popcount(m);
                const __mmask16 fm = first_lanes(n);
                r = _mm512_maskz_compress_ps(m, r);
                if (t.first) r = _mm512_add_ps(r, b);
                else r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(fm, out + at));
                if (t.last && t.relu) r = _mm512_max_ps(r, zero);
                _mm512_mask_storeu_ps(out + at, fm, r);
                at += n;
            }
        }
    }
}

template <int MR, int V>
void fwd_rows(const FwdTile &t, int m_r) {
    switch (m_r) {
    case 12: if constexpr (MR >= 12) return fwd_tile<12, V>(t); break;
    case 11: if constexpr (MR >= 11) return fwd_tile<11, V>(t); break;
    case 10: if constexpr (MR >= 10) return fwd_tile<10, V>(t); break;
    case 9: if constexpr (MR >= 9) return fwd_tile<9, V>(t); break;
    case 8: if constexpr (MR >= 8) return fwd_tile<8, V>(t); break;
    case 7: if constexpr (MR >= 7) return fwd_tile<7, V>(t); break;
    case 6: return fwd_tile<6, V>(t);
    case 5: return fwd_tile<5, V>(t);
    case 4: return fwd_tile<4, V>(t);
    case 3: return fwd_tile<3, V>(t);
    case 2: return fwd_tile<2, V>(t);
    default: return fwd_tile<1, V>(t);
    }
}

// 16 partial sums each in its own vector -> one vector of their 16 totals (lane j = sum of v[j]).
inline __m512 reduce16(__m512 (&v)[16]) {
    // pairwise: after each level, the vectors hold sums of half as many lanes for twice as many inputs
    __m512 a[8], b[4], c[2];
    for (int j = 0; j < 8; ++j) {
        const __m512 lo = _mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0x44);   // lanes 0-7 of both
        const __m512 hi = _mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0xee);   // lanes 8-15 of both
        a[j] = _mm512_add_ps(lo, hi); // [v0 0-7 summed halves | v1 ...]: 8 lanes each
    }
    for (int j = 0; j < 4; ++j) {
        const __m512 lo = _mm512_shuffle_f32x4(a[2 * j], a[2 * j + 1], 0x88); // 128-bit blocks 0,2 of each
        const __m512 hi = _mm512_shuffle_f32x4(a[2 * j], a[2 * j + 1], 0xdd); // blocks 1,3
        b[j] = _mm512_add_ps(lo, hi); // 4 inputs x 4 lanes
    }
    for (int j = 0; j < 2; ++j) {
        const __m512 lo = _mm512_shuffle_ps(b[2 * j], b[2 * j + 1], 0x44);
        const __m512 hi = _mm512_shuffle_ps(b[2 * j], b[2 * j + 1], 0xee);
        c[j] = _mm512_add_ps(lo, hi); // 8 inputs x 2 lanes
    }
    const __m512 lo = _mm512_shuffle_ps(c[0], c[1], 0x88);
    const __m512 hi = _mm512_shuffle_ps(c[0], c[1], 0xdd);
    return _mm512_add_ps(lo, hi); // 16 inputs x 1 lane, in a permuted order (see dot_tile)
}

template <int MO, int NT>
void dot_tile(const DotTile &t) {
    __m512 acc[MO][NT];
#pragma GCC unroll 3
    for (int o = 0; o < MO; ++o)
#pragma GCC unroll 9
        for (int j = 0; j < NT; ++j) acc[o][j] = _mm512_setzero_ps();
    for (int64_t s = 0; s < t.nseg; ++s) {
        const float *dy = t.dy + s * t.dy_seg;
        const float *x = t.x + s * t.x_seg;
        const float *xp[NT];
#pragma GCC unroll 9
        for (int j = 0; j < NT; ++j) xp[j] = x + t.xoff[j];
        for (int64_t p = 0; p < t.len; p += 16) {
            __m512 g[MO];
#pragma GCC unroll 3
            for (int o = 0; o < MO; ++o) g[o] = _mm512_loadu_ps(dy + o * t.dy_rs + p);
#pragma GCC unroll 9
            for (int j = 0; j < NT; ++j) {
                const __m512 xv = _mm512_loadu_ps(xp[j] + p);
#pragma GCC unroll 3
                for (int o = 0; o < MO; ++o) acc[o][j] = _mm512_fmadd_ps(g[o], xv, acc[o][j]);
            }
        }
    }
    // lane sums, 16 at a time through reduce16, scattered back through its lane order
    __m512 *flat = &acc[0][0];
    constexpr int n = MO * NT;
    alignas(64) float sums[32];
    for (int base = 0; base < n; base += 16) {
        __m512 v[16];
        for (int j = 0; j < 16; ++j) v[j] = base + j < n ? flat[base + j] : _mm512_setzero_ps();
        _mm512_store_ps(sums + 16 * (base / 16), reduce16(v));
    }
    // reduce16's output lane of input j: worked out from the shuffles above
    static constexpr int lane_of[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
    for (int q = 0; q < n; ++q) {
        const int o = q / NT, j = q % NT;
        t.out[o * t.ldo + t.woff[j]] += sums[16 * (q / 16) + lane_of[q % 16]];
    }
}

template <int MO>
void dot_taps(const DotTile &t, int nt) {
    switch (nt) {
    case 9: return dot_tile<MO, 9>(t);
    case 8: return dot_tile<MO, 8>(t);
    case 7: return dot_tile<MO, 7>(t);
    case 6: return dot_tile<MO, 6>(t);
    case 5: return dot_tile<MO, 5>(t);
    case 4: return dot_tile<MO, 4>(t);
    case 3: return dot_tile<MO, 3>(t);
    case 2: return dot_tile<MO, 2>(t);
    default: return dot_tile<MO, 1>(t);
    }
}

void dot(const DotTile &t, int mo, int nt) {
    switch (mo) {
    case 3: return dot_taps<3>(t, nt);
    case 2: return dot_taps<2>(t, nt);
    default: return dot_taps<1>(t, nt);
    }
}

// Depthwise: taps weights held in registers (9 for 3x3), two vectors per iteration.
template <int T>
void dw_plane_taps(const DwPlane &d) {
    const int ntaps = T > 0 ? T : d.ntaps;
    const __m512 zero = _mm512_setzero_ps(), bias = _mm512_set1_ps(d.bias);
    __m512 w[T > 0 ? T : 1];
    if constexpr (T > 0)
        for (int t = 0; t < T; ++t) w[t] = _mm512_set1_ps(d.w[t]);
    int64_t off[T > 0 ? T : 1];
    if constexpr (T > 0)
        for (int t = 0; t < T; ++t) off[t] = d.xoff[t];
    for (int64_t s = 0; s < d.count; ++s) {
        const __mmask16 m = d.masks[s];
        if (!m) continue;
        const float *x = d.x + 16 * s;
        __m512 acc = zero;
        if constexpr (T > 0) {
#pragma GCC unroll 9
            for (int t = 0; t < T; ++t) acc = _mm512_fmadd_ps(w[t], _mm512_loadu_ps(x + off[t]), acc);
        } else {
            for (int t = 0; t < ntaps; ++t) acc = _mm512_fmadd_ps(_mm512_set1_ps(d.w[t]), _mm512_loadu_ps(x + d.xoff[t]), acc);
        }
        float *out = d.y + d.dst[s];
        if (m == 0xffff) {
            if (d.accumulate) acc = _mm512_add_ps(acc, _mm512_loadu_ps(out));
            else {
                acc = _mm512_add_ps(acc, bias);
                if (d.relu) acc = _mm512_max_ps(acc, zero);
            }
            _mm512_storeu_ps(out, acc);
        } else {
            const __mmask16 fm = first_lanes(__builtin_popcount(m));
            acc = _mm512_maskz_compress_ps(m, acc);
            if (d.accumulate) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(fm, out));
            else {
                acc = _mm512_add_ps(acc, bias);
                if (d.relu) acc = _mm512_max_ps(acc, zero);
            }
            _mm512_mask_storeu_ps(out, fm, acc);
        }
    }
}

void dw_plane(const DwPlane &d) {
    if (d.ntaps == 9) return dw_plane_taps<9>(d);
    return dw_plane_taps<0>(d);
}

} // namespace

extern const Kernels conv_avx512 = {"conv_avx512",
                                    {12, 8, 6},
                                    {2, 3, 4},
                                    {fwd_rows<12, 2>, fwd_rows<8, 3>, fwd_rows<6, 4>},
                                    dot,
                                    dw_plane};

} // namespace dk::conv

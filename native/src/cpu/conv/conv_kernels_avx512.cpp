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

// Depthwise: blocks of B vectors, tap-outer so that each tap's offset and weight serve B
// independent accumulators (a tap-inner loop is one FMA latency chain per vector).
inline void dw_store(const DwPlane &d, int64_t s, __m512 acc, __m512 bias) {
    const __mmask16 m = d.masks[s];
    if (!m) return;
    const __m512 zero = _mm512_setzero_ps();
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

template <int B>
void dw_block(const DwPlane &d, int64_t s0, __m512 bias) {
    __m512 acc[B];
#pragma GCC unroll 8
    for (int b = 0; b < B; ++b) acc[b] = _mm512_setzero_ps();
    const float *x = d.x + 16 * s0;
    for (int t = 0; t < d.ntaps; ++t) {
        const __m512 w = _mm512_set1_ps(d.w[t]);
        const float *xt = x + d.xoff[t];
#pragma GCC unroll 8
        for (int b = 0; b < B; ++b) acc[b] = _mm512_fmadd_ps(w, _mm512_loadu_ps(xt + 16 * b), acc[b]);
    }
#pragma GCC unroll 8
    for (int b = 0; b < B; ++b) dw_store(d, s0 + b, acc[b], bias);
}

void dw_plane(const DwPlane &d) {
    const __m512 bias = _mm512_set1_ps(d.bias);
    int64_t s = 0;
    for (; s + 8 <= d.count; s += 8) dw_block<8>(d, s, bias);
    for (; s < d.count; ++s) dw_block<1>(d, s, bias);
}

// r[i] (16 rows of 16) -> r[j] lane i = old r[i] lane j
inline void transpose16(__m512 (&r)[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    // now r[4b + k] holds, in each 128-bit block q, rows 4b..4b+3 at column 4q + k
    for (int i = 0; i < 4; ++i) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);       // blocks 0,2 of r[i] | 0,2 of r[i+4]
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);   // blocks 1,3
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; ++i) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);        // column i
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);    // column i + 8
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88); // column i + 4
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd); // column i + 12
    }
}

// B output pixels (16 channels each) of one row, starting at ox, into yb.
template <int B>
inline void dw_pixels(const DwBlock &d, const float *in, int64_t ox, int64_t wp, const __m512 (&w)[9], bool w_in_regs,
                      const float *wv, __m512 bias, float *yb) {
    const __m512 zero = _mm512_setzero_ps();
    __m512 acc[B];
    for (int b = 0; b < B; ++b) acc[b] = bias;
    int t = 0;
    for (int64_t ky = 0; ky < d.kh; ++ky)
        for (int64_t kx = 0; kx < d.kw; ++kx, ++t) {
            const __m512 wt = w_in_regs ? w[t] : _mm512_load_ps(wv + t * 16);
            const float *p = in + (ky * d.dh * wp + ox * d.sw + kx * d.dw) * 16;
#pragma GCC unroll 8
            for (int b = 0; b < B; ++b) acc[b] = _mm512_fmadd_ps(wt, _mm512_load_ps(p + b * d.sw * 16), acc[b]);
        }
#pragma GCC unroll 8
    for (int b = 0; b < B; ++b) {
        if (d.relu) acc[b] = _mm512_max_ps(acc[b], zero);
        _mm512_store_ps(yb + (ox + b) * 16, acc[b]);
    }
}

void dw_block16(const DwBlock &d) {
    const int64_t hp = (d.oh - 1) * d.sh + (d.kh - 1) * d.dh + 1, wp = (d.ow - 1) * d.sw + (d.kw - 1) * d.dw + 1;
    const int taps = static_cast<int>(d.kh * d.kw);
    float *xb = d.buf, *yb = xb + hp * wp * 16, *wv = yb + (d.ow + 16) * 16;
    const int64_t hw = d.h * d.w, sp = d.oh * d.ow;
    const __mmask16 cm = first_lanes(d.channels);
    const __m512 zero = _mm512_setzero_ps();
    // weights and bias as channel vectors
    for (int t = 0; t < taps; ++t)
        for (int c = 0; c < 16; ++c) wv[t * 16 + c] = c < d.channels ? d.wt[c * taps + t] : 0.0f;
    __m512 bias = zero;
    if (d.bias) bias = _mm512_maskz_loadu_ps(cm, d.bias);
    // input: padded [hp][wp][16]
    for (int64_t yy = 0; yy < hp; ++yy) {
        float *row = xb + yy * wp * 16;
        const int64_t y = yy - d.pt;
        // columns xx with 0 <= xx - pl < w
        const int64_t x0 = d.pl < wp ? d.pl : wp, x1 = d.pl + d.w < wp ? d.pl + d.w : wp;
        if (y < 0 || y >= d.h) {
            for (int64_t xx = 0; xx < wp; ++xx) _mm512_store_ps(row + xx * 16, zero);
            continue;
        }
        for (int64_t xx = 0; xx < x0; ++xx) _mm512_store_ps(row + xx * 16, zero);
        for (int64_t xx = x1; xx < wp; ++xx) _mm512_store_ps(row + xx * 16, zero);
        const float *src = d.x + y * d.w;
        for (int64_t j = 0; j < d.w && d.pl + j < wp; j += 16) {
            const int n = static_cast<int>(d.w - j < 16 ? d.w - j : 16);
            const __mmask16 m = first_lanes(n);
            __m512 r[16];
            for (int c = 0; c < 16; ++c) r[c] = c < d.channels ? _mm512_maskz_loadu_ps(m, src + c * hw + j) : zero;
            transpose16(r);
            for (int k = 0; k < n && d.pl + j + k < wp; ++k) _mm512_store_ps(row + (d.pl + j + k) * 16, r[k]);
        }
    }
    __m512 w[9];
    const bool w_in_regs = taps <= 9;
    if (w_in_regs)
        for (int t = 0; t < taps; ++t) w[t] = _mm512_load_ps(wv + t * 16);
    for (int64_t oy = 0; oy < d.oh; ++oy) {
        const float *in = xb + oy * d.sh * wp * 16;
        int64_t ox = 0;
        for (; ox + 8 <= d.ow; ox += 8) dw_pixels<8>(d, in, ox, wp, w, w_in_regs, wv, bias, yb);
        for (; ox < d.ow; ++ox) dw_pixels<1>(d, in, ox, wp, w, w_in_regs, wv, bias, yb);
        // the row back into the 16 planes
        for (int64_t j = 0; j < d.ow; j += 16) {
            const int n = static_cast<int>(d.ow - j < 16 ? d.ow - j : 16);
            const __mmask16 m = first_lanes(n);
            __m512 r[16];
            for (int k = 0; k < 16; ++k) r[k] = k < n ? _mm512_load_ps(yb + (j + k) * 16) : zero;
            transpose16(r);
            for (int c = 0; c < d.channels; ++c) _mm512_mask_storeu_ps(d.y + c * sp + oy * d.ow + j, m, r[c]);
        }
    }
}

} // namespace

extern const Kernels conv_avx512 = {"conv_avx512",
                                    {12, 8, 6},
                                    {2, 3, 4},
                                    {fwd_rows<12, 2>, fwd_rows<8, 3>, fwd_rows<6, 4>},
                                    dot,
                                    dw_plane,
                                    dw_block16};

} // namespace dk::conv

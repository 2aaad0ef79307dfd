// The AVX-512 attention kernels. Register blocking as in a GEMM microkernel: 24 zmm accumulators
// (6 rows x 4 vectors of 16 lanes), fed by 4 vector loads and one broadcast per row per step, so
// the FMA units stay busy; exp2 is vreduceps, a degree-6 polynomial and vscalefps, 16 lanes at a
// time. Compiled with AVX-512 flags only (dk_isa_sources): no inline functions shared with other
// files (native/KERNELS.md).
#include "attention_kernels.h"

#include <immintrin.h>

// GCC 12 flags the _mm512_undefined_ps() inside its own intrinsics headers (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace dk::attention {

namespace {

// 2^x for x <= 127, within 1.1 ulp (also for denormal results); 2^-inf and anything below -150
// are exactly 0. vreduceps splits x = floor(x) + f with f in [0, 1] exactly (f = 1 when a tiny
// negative x rounds up), a degree-6 polynomial fitted to 2^f for relative error on [0, 1] gives
// 2^f in [1, 2], and vscalefps multiplies by 2^floor(x), which is 0 for -inf and huge negatives:
// no clamping, 9 instructions with the subtraction of the row maximum.
inline __m512 exp2_ps(__m512 x) {
    const __m512 f = _mm512_reduce_ps(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); // x - floor(x)
    __m512 p = _mm512_set1_ps(2.1612289e-4f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.2468009e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6754357e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5485286e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022931e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314706e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, x); // p * 2^floor(x)
}

// ---- scores: s = a . bt for up to 8 rows of a at once ----------------------------------------

constexpr int nv = lanes / 16;      // vectors per lane row
constexpr int row_block = 24 / nv; // rows per microkernel: 24 accumulators
static_assert(lanes == 64 && row_block == 6, "the switches below cover rows 1..6");

template <int R>
void scores_rows(float *s, const float *a, int64_t lda, const float *bt, int depth, int64_t rel_key,
                 bool mask, __m512 *mx) {
    __m512 acc[R][nv];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) acc[r][v] = _mm512_setzero_ps();
    for (int x = 0; x < depth; ++x) {
        __m512 b[nv];
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) b[v] = _mm512_loadu_ps(bt + x * lanes + 16 * v);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const __m512 ar = _mm512_set1_ps(a[r * lda + x]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; ++v) acc[r][v] = _mm512_fmadd_ps(ar, b[v], acc[r][v]);
        }
    }
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) {
            __m512 y = acc[r][v];
            if (mask) { // lane c (query q0 + c) does not see key q0 + rel_key + r when c < rel_key + r
                const __m512i lane = _mm512_add_epi32(iota, _mm512_set1_epi32(16 * v));
                const __mmask16 hidden = _mm512_cmplt_epi32_mask(lane, _mm512_set1_epi32((int)(rel_key + r)));
                y = _mm512_mask_mov_ps(y, hidden, _mm512_set1_ps(-__builtin_inff()));
            }
            _mm512_storeu_ps(s + r * lanes + 16 * v, y);
            mx[v] = _mm512_max_ps(mx[v], y);
        }
}

void scores(float *s, const float *a, int64_t lda, int rows, const float *bt, int depth, int64_t key0,
            int64_t mask_q0, float *mx) {
    __m512 m[nv];
    for (int v = 0; v < nv; ++v) m[v] = _mm512_set1_ps(-__builtin_inff());
    const bool mask = mask_q0 >= 0;
    for (int j = 0; j < rows; j += row_block) {
        // key0 + j - mask_q0, clamped: beyond [-row_block, lanes + key_block] the mask is all or nothing
        int64_t rel = mask ? key0 + j - mask_q0 : 0;
        rel = rel < -row_block ? -row_block : rel > lanes + key_block ? lanes + key_block : rel;
        float *sj = s + j * lanes;
        const float *aj = a + j * lda;
        switch (rows - j < row_block ? rows - j : row_block) {
        case 6: scores_rows<6>(sj, aj, lda, bt, depth, rel, mask, m); break;
        case 5: scores_rows<5>(sj, aj, lda, bt, depth, rel, mask, m); break;
        case 4: scores_rows<4>(sj, aj, lda, bt, depth, rel, mask, m); break;
        case 3: scores_rows<3>(sj, aj, lda, bt, depth, rel, mask, m); break;
        case 2: scores_rows<2>(sj, aj, lda, bt, depth, rel, mask, m); break;
        default: scores_rows<1>(sj, aj, lda, bt, depth, rel, mask, m); break;
        }
    }
    if (mx)
        for (int v = 0; v < nv; ++v) _mm512_storeu_ps(mx + 16 * v, _mm512_max_ps(_mm512_loadu_ps(mx + 16 * v), m[v]));
}

// ---- exp2 and the softmax backward, elementwise over lane rows ----------------------------------

void exp2_rows(float *p, int rows, const float *m, float *sum) {
    __m512 mv[nv], sv[nv];
    for (int v = 0; v < nv; ++v) mv[v] = _mm512_loadu_ps(m + 16 * v), sv[v] = _mm512_setzero_ps();
    for (int j = 0; j < rows; ++j) {
        float *pj = p + j * lanes;
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) {
            const __m512 e = exp2_ps(_mm512_sub_ps(_mm512_loadu_ps(pj + 16 * v), mv[v]));
            _mm512_storeu_ps(pj + 16 * v, e);
            sv[v] = _mm512_add_ps(sv[v], e);
        }
    }
    if (sum)
        for (int v = 0; v < nv; ++v) _mm512_storeu_ps(sum + 16 * v, _mm512_add_ps(_mm512_loadu_ps(sum + 16 * v), sv[v]));
}

void softmax_grad(float *dp, const float *p, int rows, const float *dvec) {
    __m512 dv[nv];
    for (int v = 0; v < nv; ++v) dv[v] = _mm512_loadu_ps(dvec + 16 * v);
    for (int j = 0; j < rows; ++j) {
        float *g = dp + j * lanes;
        const float *pj = p + j * lanes;
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v)
            _mm512_storeu_ps(g + 16 * v, _mm512_mul_ps(_mm512_loadu_ps(pj + 16 * v),
                                                        _mm512_sub_ps(_mm512_loadu_ps(g + 16 * v), dv[v])));
    }
}

// ---- accum_t: ot (depth x 64) += a^T p, 6 rows of ot at once ------------------------------------

template <int R>
void accum_t_rows(float *ot, const float *a, int64_t lda, int rows, const float *p, const float *scale) {
    __m512 acc[R][nv];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) acc[r][v] = _mm512_loadu_ps(ot + r * lanes + 16 * v);
    if (scale)
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
            for (int v = 0; v < nv; ++v) acc[r][v] = _mm512_mul_ps(acc[r][v], _mm512_loadu_ps(scale + 16 * v));
    for (int j = 0; j < rows; ++j) {
        const float *pj = p + j * lanes;
        __m512 pv[nv];
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) pv[v] = _mm512_loadu_ps(pj + 16 * v);
        const float *aj = a + j * lda;
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const __m512 ar = _mm512_set1_ps(aj[r]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; ++v) acc[r][v] = _mm512_fmadd_ps(ar, pv[v], acc[r][v]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) _mm512_storeu_ps(ot + r * lanes + 16 * v, acc[r][v]);
}

void accum_t(float *ot, int depth, const float *a, int64_t lda, int rows, const float *p, const float *scale) {
    for (int x = 0; x < depth; x += row_block) {
        float *o = ot + x * lanes;
        switch (depth - x < row_block ? depth - x : row_block) {
        case 6: accum_t_rows<6>(o, a + x, lda, rows, p, scale); break;
        case 5: accum_t_rows<5>(o, a + x, lda, rows, p, scale); break;
        case 4: accum_t_rows<4>(o, a + x, lda, rows, p, scale); break;
        case 3: accum_t_rows<3>(o, a + x, lda, rows, p, scale); break;
        case 2: accum_t_rows<2>(o, a + x, lda, rows, p, scale); break;
        default: accum_t_rows<1>(o, a + x, lda, rows, p, scale); break;
        }
    }
}

// ---- accum_rows: out (rows x depth) += p b, 6 rows x 4 vectors (64 columns) at once -------------

template <int R, int NV>
void accum_rows_tile(float *out, int64_t ldo, const float *p, int cols, const float *b, int64_t ldb,
                     __mmask16 last) {
    __mmask16 mask[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) mask[v] = v == NV - 1 ? last : (__mmask16)0xFFFF;
    __m512 acc[R][NV];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_maskz_loadu_ps(mask[v], out + r * ldo + 16 * v);
    for (int c = 0; c < cols; ++c) {
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bv[v] = _mm512_maskz_loadu_ps(mask[v], b + c * ldb + 16 * v);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const __m512 pr = _mm512_set1_ps(p[r * lanes + c]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(pr, bv[v], acc[r][v]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(out + r * ldo + 16 * v, mask[v], acc[r][v]);
}

template <int R>
void accum_rows_r(float *out, int64_t ldo, const float *p, int cols, const float *b, int64_t ldb, int depth) {
    for (int x = 0; x < depth; x += 64) {
        const int n = depth - x < 64 ? depth - x : 64, nv = (n + 15) / 16;
        const __mmask16 last = (__mmask16)(n % 16 == 0 ? 0xFFFF : (1u << (n % 16)) - 1);
        switch (nv) {
        case 4: accum_rows_tile<R, 4>(out + x, ldo, p, cols, b + x, ldb, last); break;
        case 3: accum_rows_tile<R, 3>(out + x, ldo, p, cols, b + x, ldb, last); break;
        case 2: accum_rows_tile<R, 2>(out + x, ldo, p, cols, b + x, ldb, last); break;
        default: accum_rows_tile<R, 1>(out + x, ldo, p, cols, b + x, ldb, last); break;
        }
    }
}

void accum_rows(float *out, int64_t ldo, int rows, const float *p, int cols, const float *b, int64_t ldb,
                int depth) {
    for (int j = 0; j < rows; j += 6) {
        float *o = out + j * ldo;
        const float *pj = p + j * lanes;
        switch (rows - j < 6 ? rows - j : 6) {
        case 6: accum_rows_r<6>(o, ldo, pj, cols, b, ldb, depth); break;
        case 5: accum_rows_r<5>(o, ldo, pj, cols, b, ldb, depth); break;
        case 4: accum_rows_r<4>(o, ldo, pj, cols, b, ldb, depth); break;
        case 3: accum_rows_r<3>(o, ldo, pj, cols, b, ldb, depth); break;
        case 2: accum_rows_r<2>(o, ldo, pj, cols, b, ldb, depth); break;
        default: accum_rows_r<1>(o, ldo, pj, cols, b, ldb, depth); break;
        }
    }
}

// ---- transpose: 16 x 16 blocks in registers (gathers are slow on CPUs with the GDS fix) ---------

// c[i] = column i of the 16 x 16 matrix whose rows are r[0..15].
inline void transpose16(const __m512 r[16], __m512 c[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 16; g += 4) {
        const __m512d t0 = _mm512_castps_pd(t[g]), t1 = _mm512_castps_pd(t[g + 1]),
                      t2 = _mm512_castps_pd(t[g + 2]), t3 = _mm512_castps_pd(t[g + 3]);
        u[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));     // columns 0, 4, 8, 12 of rows g..g+3
        u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2)); // columns 1, 5, 9, 13
        u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3)); // columns 2, 6, 10, 14
        u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3)); // columns 3, 7, 11, 15
    }
    for (int k = 0; k < 4; ++k) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88), v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xdd);
        const __m512 v2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88),
                     v3 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xdd);
        c[k] = _mm512_shuffle_f32x4(v0, v2, 0x88);
        c[k + 8] = _mm512_shuffle_f32x4(v0, v2, 0xdd);
        c[k + 4] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        c[k + 12] = _mm512_shuffle_f32x4(v1, v3, 0xdd);
    }
}

void transpose(float *dst, int64_t ldd, const float *src, int64_t lds, int rows, int cols, const float *row_scale,
               float scale) {
    for (int j = 0; j < cols; j += 16) {     // 16 rows of src = 16 columns of dst
        const int nj = cols - j < 16 ? cols - j : 16;
        const __mmask16 mj = (__mmask16)(nj == 16 ? 0xFFFF : (1u << nj) - 1);
        for (int i = 0; i < rows; i += 16) { // 16 columns of src = 16 rows of dst
            const int ni = rows - i < 16 ? rows - i : 16;
            const __mmask16 mi = (__mmask16)(ni == 16 ? 0xFFFF : (1u << ni) - 1);
            __m512 r[16], c[16];
            for (int jj = 0; jj < 16; ++jj)
                r[jj] = jj < nj ? _mm512_maskz_loadu_ps(mi, src + (j + jj) * lds + i) : _mm512_setzero_ps();
            transpose16(r, c);
            for (int ii = 0; ii < ni; ++ii) {
                const float si = scale * (row_scale ? row_scale[i + ii] : 1.0f);
                _mm512_mask_storeu_ps(dst + (i + ii) * ldd + j, mj, _mm512_mul_ps(c[ii], _mm512_set1_ps(si)));
            }
        }
    }
}

} // namespace

extern const Kernels kernels_avx512 = {scores, exp2_rows, accum_t, accum_rows, softmax_grad, transpose};

} // namespace dk::attention

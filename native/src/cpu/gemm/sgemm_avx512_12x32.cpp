// sgemm_avx512_12x32: the AVX-512 microkernel. Compiled with the avx512 flags only
// (dk_isa_sources); includes nothing but gemm.h and the intrinsics header (native/KERNELS.md).
//
// Register tile: 12 rows x 32 columns of C = 24 zmm accumulators. Each k step loads two zmm of
// the packed B row (32 floats) and broadcasts 12 floats of the packed A column, then issues 24
// FMAs: 14 loads per 24 FMAs, and 24 independent accumulators cover the FMA latency (4 cycles)
// times the two FMA pipes with room to spare. 24 + 2 (B) + 1-2 (broadcasts) <= 32 registers.
// Row tails are separate instantiations (template on the row count), so the small-m path
// (m = 1 .. 11) issues only the FMAs it needs; column tails use AVX-512 masks.
#include "gemm.h"

#include <immintrin.h>

namespace dk::gemm {

namespace {

constexpr int MR = 12, NR = 32;
// How far ahead (in floats) the packed kernel prefetches its B micro-panel into L1: 8 k steps.
constexpr int kPrefetchB = 8 * NR;

inline __mmask16 lane_mask(int n) { // the first n lanes (none for n <= 0, all for n >= 16)
    if (n <= 0) return 0;
    return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1u);
}

// C = alpha * acc + beta * C for M rows; columns masked by m0 (0..15) and m1 (16..31). alpha == 1
// (the usual case) skips the multiply.
template <int M>
inline void store_tile(__m512 (&acc0)[MR], __m512 (&acc1)[MR], float *c, int64_t ldc, __mmask16 m0, __mmask16 m1,
                       const Epilogue &e) {
    if (e.alpha != 1.0f) {
        const __m512 alpha = _mm512_set1_ps(e.alpha);
#pragma GCC unroll 12
        for (int i = 0; i < M; ++i) acc0[i] = _mm512_mul_ps(alpha, acc0[i]), acc1[i] = _mm512_mul_ps(alpha, acc1[i]);
    }
    if (e.beta == 0.0f) {
#pragma GCC unroll 12
        for (int i = 0; i < M; ++i) {
            _mm512_mask_storeu_ps(c + i * ldc, m0, acc0[i]);
            _mm512_mask_storeu_ps(c + i * ldc + 16, m1, acc1[i]);
        }
    } else {
        const __m512 beta = _mm512_set1_ps(e.beta);
#pragma GCC unroll 12
        for (int i = 0; i < M; ++i) {
            float *ci = c + i * ldc;
            _mm512_mask_storeu_ps(ci, m0, _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(m0, ci), acc0[i]));
            _mm512_mask_storeu_ps(ci + 16, m1, _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(m1, ci + 16), acc1[i]));
        }
    }
}

// Packed operands: a[p * MR + i], b[p * NR + j]; both zero-padded, so loads need no masks.
template <int M>
void packed_tile(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int n_r, const Epilogue &e) {
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < M; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int i = 0; i < M; ++i) {
        _mm_prefetch(reinterpret_cast<const char *>(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char *>(c + i * ldc + 31), _MM_HINT_T0);
    }
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
        _mm_prefetch(reinterpret_cast<const char *>(b + kPrefetchB), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char *>(b + kPrefetchB + 16), _MM_HINT_T0);
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < M; ++i) {
            const __m512 ai = _mm512_set1_ps(a[i]);
            acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
        }
        a += MR;
        b += NR;
    }
    store_tile<M>(acc0, acc1, c, ldc, lane_mask(n_r), lane_mask(n_r - 16), e);
}

// Unpacked operands: op(A)(i, p) = a[i * rs_a + p * cs_a], op(B)(p, j) = b[p * ldb + j]. B loads are
// masked to the n_r columns that exist.
template <int M>
void direct_tile(int64_t kc, const float *a, int64_t rs_a, int64_t cs_a, const float *b, int64_t ldb, float *c,
                 int64_t ldc, int n_r, const Epilogue &e) {
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < M; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();
    const __mmask16 m0 = lane_mask(n_r), m1 = lane_mask(n_r - 16);
    for (int64_t p = 0; p < kc; ++p) {
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < M; ++i) {
            const __m512 ai = _mm512_set1_ps(a[i * rs_a]);
            acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
        }
        a += cs_a;
        b += ldb;
    }
    store_tile<M>(acc0, acc1, c, ldc, m0, m1, e);
}

// Unpacked A, a row-major B panel read once and stored packed to bp (PackingKernel).
template <int M>
void packing_tile(int64_t kc, const float *a, int64_t rs_a, int64_t cs_a, const float *b, int64_t ldb, float *bp,
                  float *c, int64_t ldc, const Epilogue &e) {
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < M; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kc; ++p) {
        _mm_prefetch(reinterpret_cast<const char *>(b + 4 * ldb), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char *>(b + 4 * ldb + 16), _MM_HINT_T0);
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        _mm512_storeu_ps(bp, b0);
        _mm512_storeu_ps(bp + 16, b1);
#pragma GCC unroll 12
        for (int i = 0; i < M; ++i) {
            const __m512 ai = _mm512_set1_ps(a[i * rs_a]);
            acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
        }
        a += cs_a;
        b += ldb;
        bp += NR;
    }
    store_tile<M>(acc0, acc1, c, ldc, lane_mask(NR), lane_mask(NR - 16), e);
}

void packing_12x32(int64_t kc, const float *a, int64_t rs_a, int64_t cs_a, const float *b, int64_t ldb, float *bp,
                   float *c, int64_t ldc, int m_r, const Epilogue &e) {
    switch (m_r) {
    case 12: return packing_tile<12>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    case 11: return packing_tile<11>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    case 10: return packing_tile<10>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    case 9: return packing_tile<9>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    case 8: return packing_tile<8>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    case 7: return packing_tile<7>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    case 6: return packing_tile<6>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    case 5: return packing_tile<5>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    case 4: return packing_tile<4>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    case 3: return packing_tile<3>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    case 2: return packing_tile<2>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    default: return packing_tile<1>(kc, a, rs_a, cs_a, b, ldb, bp, c, ldc, e);
    }
}

void packed_12x32(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int m_r, int n_r,
                  const Epilogue &e) {
    switch (m_r) {
    case 12: return packed_tile<12>(kc, a, b, c, ldc, n_r, e);
    case 11: return packed_tile<11>(kc, a, b, c, ldc, n_r, e);
    case 10: return packed_tile<10>(kc, a, b, c, ldc, n_r, e);
    case 9: return packed_tile<9>(kc, a, b, c, ldc, n_r, e);
    case 8: return packed_tile<8>(kc, a, b, c, ldc, n_r, e);
    case 7: return packed_tile<7>(kc, a, b, c, ldc, n_r, e);
    case 6: return packed_tile<6>(kc, a, b, c, ldc, n_r, e);
    case 5: return packed_tile<5>(kc, a, b, c, ldc, n_r, e);
    case 4: return packed_tile<4>(kc, a, b, c, ldc, n_r, e);
    case 3: return packed_tile<3>(kc, a, b, c, ldc, n_r, e);
    case 2: return packed_tile<2>(kc, a, b, c, ldc, n_r, e);
    default: return packed_tile<1>(kc, a, b, c, ldc, n_r, e);
    }
}

void direct_12x32(int64_t kc, const float *a, int64_t rs_a, int64_t cs_a, const float *b, int64_t ldb, float *c,
                  int64_t ldc, int m_r, int n_r, const Epilogue &e) {
    switch (m_r) {
    case 12: return direct_tile<12>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    case 11: return direct_tile<11>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    case 10: return direct_tile<10>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    case 9: return direct_tile<9>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    case 8: return direct_tile<8>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    case 7: return direct_tile<7>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    case 6: return direct_tile<6>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    case 5: return direct_tile<5>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    case 4: return direct_tile<4>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    case 3: return direct_tile<3>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    case 2: return direct_tile<2>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    default: return direct_tile<1>(kc, a, rs_a, cs_a, b, ldb, c, ldc, n_r, e);
    }
}

// Packing a row-major B: whole 32-column rows of each micro-panel with two zmm loads and two
// stores (a quarter of the SSE copy's instructions), prefetching the rows 4 ahead: they
// are a leading dimension apart, which the hardware prefetcher follows poorly.
void copy_b_32(const float *src, int64_t ld, int64_t kc, int64_t panels, float *dst) {
    for (int64_t p = 0; p < kc; ++p) {
        const float *s = src + p * ld;
        float *d = dst + p * NR;
        if (p + 4 < kc)
            for (int64_t j = 0; j < panels * NR; j += 16) _mm_prefetch(reinterpret_cast<const char *>(s + 4 * ld + j), _MM_HINT_T0);
        for (int64_t q = 0; q < panels; ++q) {
            _mm512_storeu_ps(d + q * kc * NR, _mm512_loadu_ps(s + q * NR));
            _mm512_storeu_ps(d + q * kc * NR + 16, _mm512_loadu_ps(s + q * NR + 16));
        }
    }
}

} // namespace

// Block sizes: see the comment on blocking in sgemm.cpp.
extern const Kernels sgemm_avx512_12x32 = {"sgemm_avx512_12x32", MR, NR, 384, 1536, 384, packed_12x32, direct_12x32,
                                           copy_b_32, packing_12x32};

} // namespace dk::gemm

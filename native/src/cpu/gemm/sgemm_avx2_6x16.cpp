// sgemm_avx2_6x16: the AVX2 + FMA microkernel (BLIS's Haswell shape). Compiled with the avx2
// flags only (dk_isa_sources); includes nothing but gemm.h and the intrinsics header.
//
// Register tile: 6 rows x 16 columns of C = 12 ymm accumulators; each k step loads two ymm of the
// packed B row and broadcasts 6 floats of the packed A column: 12 + 2 + 1 of the 16 ymm registers.
// Packed operands only (no unpacked path). Partial tiles are computed whole (the packed panels are
// zero-padded) into a local tile and only the m_r x n_r part is merged into C.
#include "gemm.h"

#include <immintrin.h>

namespace dk::gemm {

namespace {

constexpr int MR = 6, NR = 16;

void packed_6x16(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int m_r, int n_r,
                 const Epilogue &e) {
    __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) acc0[i] = acc1[i] = _mm256_setzero_ps();
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
        _mm_prefetch(reinterpret_cast<const char *>(b + 8 * NR), _MM_HINT_T0);
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int i = 0; i < MR; ++i) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
            acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
            acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
        }
        a += MR;
        b += NR;
    }
    const __m256 alpha = _mm256_set1_ps(e.alpha);
    if (m_r == MR && n_r == NR) {
        const __m256 beta = _mm256_set1_ps(e.beta);
#pragma GCC unroll 6
        for (int i = 0; i < MR; ++i) {
            float *ci = c + i * ldc;
            __m256 r0 = _mm256_mul_ps(alpha, acc0[i]), r1 = _mm256_mul_ps(alpha, acc1[i]);
            if (e.beta != 0.0f) {
                r0 = _mm256_fmadd_ps(beta, _mm256_loadu_ps(ci), r0);
                r1 = _mm256_fmadd_ps(beta, _mm256_loadu_ps(ci + 8), r1);
            }
            _mm256_storeu_ps(ci, r0);
            _mm256_storeu_ps(ci + 8, r1);
        }
        return;
    }
    float tile[MR][NR];
    for (int i = 0; i < MR; ++i) {
        _mm256_storeu_ps(tile[i], _mm256_mul_ps(alpha, acc0[i]));
        _mm256_storeu_ps(tile[i] + 8, _mm256_mul_ps(alpha, acc1[i]));
    }
    for (int i = 0; i < m_r; ++i)
        for (int j = 0; j < n_r; ++j) {
            float *cij = c + i * ldc + j;
            *cij = e.beta == 0.0f ? tile[i][j] : tile[i][j] + e.beta * *cij;
        }
}

} // namespace

// Block sizes: see the comment on blocking in sgemm.cpp.
extern const Kernels sgemm_avx2_6x16 = {"sgemm_avx2_6x16", MR, NR, 256, 1536, 384, packed_6x16, nullptr};

} // namespace dk::gemm
